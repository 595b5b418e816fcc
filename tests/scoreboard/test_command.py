"""`kabuguard score`: the report files, the JSON keys the issue names, and clean refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from kabuguard.scoreboard.command import register
from kabuguard.scoreboard.inputs import InputPaths
from tests import factories as f
from tests.scoreboard.builders import POLICY, Story, attacker

# The names the issue fixes, spelt out rather than taken from the enum under test.
CAMPAIGNS: tuple[str, ...] = (
    "stuffing", "ato_naive", "ato_vpn", "ato_targeted", "relay", "pump", "payout", "dormant_email",
)  # fmt: skip
CAMPAIGN_KEYS = (
    "stopped_rate",
    "stopped_rate_ci95",
    "minutes_to_detect_p50",
    "yen_lost",
    "yen_lost_no_defence",
    "yen_loss_prevented_rate",
)
LEGITIMATE_KEYS = ("logins_challenged_rate", "orders_held_rate", "withdrawals_held_rate")


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Keeps `score` a subcommand, as in the kabuguard command."""

    register(app)
    return app


def _run(*args: str) -> Result:
    return CliRunner().invoke(_app(), list(args))


def _paths(tmp_path: Path) -> InputPaths:
    story = Story()
    story.add(f.login("c-1", 0))
    story.add(f.order("c-1", 1))
    story.add(f.withdrawal("c-1", 2), legit_tag="house_sale")
    payout = attacker("payout", "p1")
    story.add(f.payout_change("c-2", 10), **payout)
    story.add(f.withdrawal("c-2", 70), "hold", **payout | {"goal": True, "loss_yen": 3_370_000})
    pump = attacker("pump", "k1", attacker_has=["password", "otp_relay"])
    story.add(f.login("c-3", 100), "challenge", "any_mfa", **pump)
    story.add(f.order("c-3", 101), **pump | {"goal": True, "loss_yen": 260_000})
    return story.write(tmp_path)


def _score(paths: InputPaths, out: Path, *extra: str) -> Result:
    return _run(
        "score", "--events", str(paths.events), "--labels", str(paths.labels),
        "--decisions", str(paths.decisions), "--out", str(out), *extra,
    )  # fmt: skip


def test_score_writes_json_markdown_and_html(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = _score(_paths(tmp_path), out)
    assert result.exit_code == 0, result.stderr
    assert "Hijacks stopped before the harm" in result.stdout
    assert "report.html" in result.stdout.replace("\n", "")  # long paths wrap
    report = json.loads((out / "report.json").read_text())
    for figures in (report, *report["baselines"].values()):
        for campaign in CAMPAIGNS:
            assert set(CAMPAIGN_KEYS) <= set(figures["campaigns"][campaign])
        for key in LEGITIMATE_KEYS:
            assert {key, f"{key}_ci95"} <= set(figures["legitimate"])
    assert set(report["baselines"]) == {"no_defence", "sms_otp_only", "freeman"}
    assert set(report["versus"]) == set(report["baselines"])
    meta = report["metadata"]
    assert meta["policy_versions"] == [POLICY]
    assert meta["inputs"]["decisions"].endswith("decisions.jsonl")
    assert (meta["counts"]["events"], meta["counts"]["hijacks"]) == (7, 2)
    assert "generated_at" in meta
    assert report["campaigns"]["payout"]["stopped"] == 1
    assert report["totals"]["yen_lost"] == 260_000
    markdown = (out / "report.md").read_text()
    assert markdown.startswith("# kabuguard detection scoreboard")
    assert "| payout | 1 | 100.0 % [20.7–100.0]" in markdown
    html = (out / "report.html").read_text()
    assert html.startswith("<!doctype html>")
    assert html.count("data:image/png;base64,") == 2
    assert "http" not in html.replace("http-equiv", "")  # self-contained


def test_the_freeman_threshold_is_an_option(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = _score(_paths(tmp_path), out, "--freeman-threshold", "2.5")
    assert result.exit_code == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["metadata"]["freeman"]["threshold"] == 2.5
    assert "risk > 2.5" in report["baselines"]["freeman"]["assumptions"]


@pytest.mark.parametrize("broken", ["mismatch", "missing", "malformed"])
def test_bad_inputs_exit_non_zero_with_a_message_and_no_traceback(
    tmp_path: Path, broken: str
) -> None:
    paths = _paths(tmp_path)
    expected = {
        "mismatch": "event_id mismatch",
        "missing": "labels file not found",
        "malformed": "decisions.jsonl line 1: not valid JSON",
    }[broken]
    if broken == "mismatch":
        paths.labels.write_text(paths.labels.read_text().replace('"evt-', '"zzz-', 1))
    elif broken == "missing":
        paths.labels.unlink()
    else:
        paths.decisions.write_text("{oops\n")
    result = _score(paths, tmp_path / "report")
    assert result.exit_code == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "report").exists()
