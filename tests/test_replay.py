"""`kabuguard replay`: a streaming backtest; bad lines reported; a shadow policy compared."""

from __future__ import annotations

import io
import json
from pathlib import Path

import orjson

from kabuguard.replay import BadLine, replay
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
