"""Runs are reproducible, stream with flat memory, and the command refuses bad input clearly."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from kabuguard.simulate.bench import measure
from kabuguard.simulate.command import register
from kabuguard.simulate.ippools import pools
from kabuguard.simulate.presets import PRESETS
from kabuguard.simulate.run import RunOptions, simulate

APRIL = PRESETS["2025-04"]


def _digest(directory: Path) -> tuple[str, str]:
    return tuple(  # type: ignore[return-value]
        hashlib.sha256((directory / name).read_bytes()).hexdigest()
        for name in ("events.jsonl", "labels.jsonl")
    )


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """The command under test, as the kabuguard app mounts it."""

    return app


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    for name, seed in (("first", 4), ("again", 4), ("other", 5)):
        simulate(RunOptions(600, 4, seed, APRIL, tmp_path / name))
    assert _digest(tmp_path / "first") == _digest(tmp_path / "again")
    assert (tmp_path / "first" / "manifest.json").read_bytes() == (
        tmp_path / "again" / "manifest.json"
    ).read_bytes()
    assert _digest(tmp_path / "first")[0] != _digest(tmp_path / "other")[0]


def _peak_and_written(days: int, out: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        simulate(RunOptions(100, days, 2, APRIL, out))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, sum(path.stat().st_size for path in out.iterdir())


def test_memory_stays_flat_as_the_run_gets_longer(tmp_path: Path) -> None:
    pools()  # loaded once per process, whatever the run length
    short, short_output = _peak_and_written(2, tmp_path / "short")
    long, long_output = _peak_and_written(9, tmp_path / "long")
    assert long_output > 3 * short_output
    assert long < 1.3 * short
    assert long - short < (long_output - short_output) / 4  # output is never held


def test_the_command_writes_the_three_files_and_a_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(), ["simulate", "--customers", "300", "--days", "2", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert {path.name for path in tmp_path.iterdir()} == {
        "events.jsonl", "labels.jsonl", "manifest.json",
    }  # fmt: skip
    assert "events/s" in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--customers", "0"], "--customers must be between 1 and"),
        (["--customers", "-5"], "--customers must be between 1 and"),
        (["--customers", "1000001"], "--customers must be between 1 and"),
        (["--days", "0"], "--days must be between 1 and"),
        (["--days", "-3"], "--days must be between 1 and"),
        (["--preset", "2025-13"], "unknown preset '2025-13'; choose one of: 2025-01"),
        (["--seed", "-1"], "--seed must be 0 or more"),
    ],
)
def test_impossible_parameters_get_a_one_line_error(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    result = CliRunner().invoke(_app(), ["simulate", "--out", str(tmp_path), *arguments])
    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert not any(tmp_path.iterdir())


def test_an_unwritable_output_directory_gets_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(
        _app(), ["simulate", "--customers", "50", "--days", "1", "--out", str(blocker / "sim")]
    )
    assert result.exit_code == 1
    assert f"cannot write to {blocker / 'sim'}" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_measure_reports_throughput_and_memory() -> None:
    figures = measure(customers=200, days=2, seed=1)
    assert figures["events"] > 1000
    assert figures["events_per_s"] > 0
    assert figures["peak_rss_mib"] > 0
