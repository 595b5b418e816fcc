"""`kabuguard replay`: a streaming backtest; bad lines reported; a shadow policy compared."""

from __future__ import annotations

import io
import json
from pathlib import Path

import orjson
import pytest

from kabuguard.replay import MAX_LINE_BYTES, BadLine, LongLine, lines_of, replay
from kabuguard.risk.policy import Policy
from tests import factories as f
from tests.cli_helpers import run_cli

STRICT_SHADOW = """
version = "candidate-1"
[thresholds]
challenge = 5
hold = 70
deny = 90
[required_factor]
login = "phishing_resistant"
order = "any_mfa"
withdrawal = "phishing_resistant"
payout_change = "phishing_resistant"
contact_change = "phishing_resistant"
credential_change = "phishing_resistant"
[cooling_off]
payout_change_hours = 24
[scores]
"network:ip:unparseable" = 10
[enforcement]
buy = "deny"
sell = "deny"
login = "deny"
withdraw = "hold"
change_payout = "hold"
change_contact = "hold"
"""


def _lines(*events: dict[str, object]) -> list[bytes]:
    return [orjson.dumps(event) + b"\n" for event in events]


def test_replay_carries_state_between_events_and_reports_bad_lines() -> None:
    lines = _lines(f.payout_change("c-1", minutes=0), f.withdrawal("c-1", minutes=30))
    lines.insert(1, b'{"type": "order", "event_id": "broken"}\n')
    lines.insert(2, b"not json\n")
    lines.append(b"\n")
    sink = io.BytesIO()
    bad: list[BadLine] = []
    summary = replay(lines, sink, Policy.default(), on_bad_line=bad.append)
    decisions = [json.loads(line) for line in sink.getvalue().splitlines()]
    # A payout change asks for a passkey (payout:factor:required) and starts the cooling-off.
    assert [d["outcome"] for d in decisions] == ["challenge", "hold"]
    assert "restriction:withdraw:active" in [r["code"] for r in decisions[1]["reasons"]]
    assert [b.number for b in bad] == [2, 3]
    assert "customer_id" in bad[0].message
    assert (summary.events, summary.bad_lines) == (2, 2)
    assert summary.outcomes == {"challenge": 1, "hold": 1}


def test_replay_compares_a_shadow_policy_without_letting_it_act() -> None:
    lines = _lines(f.login(ip="garbage"), f.payout_change(minutes=1), f.withdrawal(minutes=60 * 30))
    sink = io.BytesIO()
    summary = replay(lines, sink, Policy.default(), Policy.from_toml(STRICT_SHADOW, source="t"))
    decisions = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert decisions[0]["outcome"] == "allow"
    assert decisions[0]["shadow"]["outcome"] == "challenge"
    # The live 72 h cooling-off holds the withdrawal; the shadow's 24 h would not have imposed
    # its own, but the shadow judges against live state, which is what replay backtests.
    assert decisions[2]["outcome"] == "hold"
    assert summary.changed == {("allow", "challenge"): 1}


def test_replay_command_exits_non_zero_on_bad_lines_and_prints_a_summary(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(
        b"".join(_lines(f.login(), f.lock(minutes=1), f.login(minutes=2))) + b"{oops\n"
    )
    shadow = tmp_path / "candidate.toml"
    shadow.write_text(STRICT_SHADOW)
    out = tmp_path / "decisions.jsonl"
    result = run_cli(
        "replay", str(source), "--out", str(out), "--shadow-policy", str(shadow),
        database_url="sqlite:///unused.db", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "line 4:" in result.stderr
    assert "3 events decided, 1 bad lines" in result.stdout
    assert "customer:lock:active" in result.stdout
    assert [json.loads(x)["outcome"] for x in out.read_text().splitlines()] == [
        "allow",
        "allow",
        "deny",
    ]


def test_replay_command_refuses_a_broken_policy_file(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"".join(_lines(f.login())))
    policy = tmp_path / "bad.toml"
    policy.write_text('version = "x"\n[thresholds]\nchallenge = 50\nhold = 10\ndeny = 90\n')
    result = run_cli(
        "replay", str(source), "--out", str(tmp_path / "o.jsonl"), "--policy", str(policy),
        database_url="sqlite:///unused.db", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    assert "thresholds must satisfy" in result.stderr


class _Recording(io.BytesIO):
    """Remembers the most any one read asked for."""

    largest = 0

    def readline(self, size: int | None = -1, /) -> bytes:
        assert size is not None, "an unbounded read"
        assert size > 0, "an unbounded read"
        self.largest = max(self.largest, size)
        return super().readline(size)


def test_lines_are_read_with_a_bounded_length() -> None:
    source = _Recording(b"ab\nabcd\nabcde\n" + b"x" * 50 + b"\ncd\n" + b"y" * 9)
    lines = list(lines_of(source, limit=4))
    # A line is its content and its line break: "abcd\n" fits in 4, "abcde\n" does not.
    assert lines == [b"ab\n", b"abcd\n", LongLine(6, 4), LongLine(51, 4), b"cd\n", LongLine(9, 4)]
    assert source.largest <= 1 << 20  # never the whole of a long line at once


def test_replay_skips_a_line_longer_than_the_limit_and_goes_on(tmp_path: Path) -> None:
    # Was read whole: a 45 MB file written on one line took 830 MB.
    source = tmp_path / "events.jsonl"
    first, last = _lines(f.login(), f.login(minutes=1))
    source.write_bytes(first + b"[" + b"1," * (MAX_LINE_BYTES // 2) + b"1]\n" + last)
    out = tmp_path / "decisions.jsonl"
    result = run_cli("replay", str(source), "--out", str(out), database_url="sqlite:///unused.db",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert f"line 2: longer than {MAX_LINE_BYTES} bytes; skipped" in result.stderr
    assert "2 events decided, 1 bad lines" in result.stdout
    assert len(out.read_text().splitlines()) == 2


def test_replay_refuses_its_own_events_file_as_out_and_leaves_it_whole(tmp_path: Path) -> None:
    # Was opened for writing first: the file was emptied, "0 events decided", exit 0.
    source = tmp_path / "events.jsonl"
    events = b"".join(_lines(f.login()))
    source.write_bytes(events)
    (tmp_path / "link.jsonl").symlink_to(source)
    for out in ("events.jsonl", "link.jsonl", "./events.jsonl"):
        result = run_cli("replay", "events.jsonl", "--out", out,
                         database_url="sqlite:///unused.db", cwd=tmp_path)  # fmt: skip
        assert result.returncode == 1, result.stdout
        assert "is the events file itself" in result.stderr
        assert source.read_bytes() == events


@pytest.mark.parametrize(
    ("out", "problem"),
    [
        ("missing/decisions.jsonl", "the directory missing does not exist"),
        (".", "is a directory"),
    ],
)
def test_replay_refuses_an_out_that_cannot_be_written(
    tmp_path: Path, out: str, problem: str
) -> None:
    # Was a FileNotFoundError or IsADirectoryError traceback.
    (tmp_path / "events.jsonl").write_bytes(b"".join(_lines(f.login())))
    result = run_cli("replay", "events.jsonl", "--out", out, database_url="sqlite:///unused.db",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1
    assert problem in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_replay_replaces_out_once_complete_leaving_nothing_beside_it(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"".join(_lines(f.login(), f.login(minutes=1))))
    out = tmp_path / "decisions.jsonl"
    out.write_text("from an earlier run\n")
    result = run_cli("replay", str(source), "--out", str(out), database_url="sqlite:///unused.db",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [json.loads(x)["outcome"] for x in out.read_text().splitlines()] == ["allow", "allow"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decisions.jsonl", "events.jsonl"]


def test_replay_refuses_a_policy_file_that_is_not_utf8(tmp_path: Path) -> None:
    # Was a UnicodeDecodeError traceback.
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"".join(_lines(f.login())))
    policy = tmp_path / "policy.toml"
    policy.write_bytes('version = "x"\n# 買付\n'.encode("utf-16"))
    result = run_cli(
        "replay", str(source), "--out", str(tmp_path / "o.jsonl"), "--policy", str(policy),
        database_url="sqlite:///unused.db", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"error: {policy}: not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o.jsonl").exists()
