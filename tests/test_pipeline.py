"""The newcomer's three commands: simulate → replay → score, through the installed CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import run_cli

CAMPAIGNS = (
    "stuffing",
    "ato_naive",
    "ato_vpn",
    "ato_targeted",
    "relay",
    "pump",
    "payout",
    "dormant_email",
)


def test_simulate_replay_score_yields_a_report_that_adds_up(tmp_path: Path) -> None:
    sim, url = tmp_path / "sim", f"sqlite:///{tmp_path / 'unused.db'}"
    simulated = run_cli(
        "simulate", "--customers", "1500", "--days", "7", "--seed", "3", "--out", str(sim),
        database_url=url,
    )  # fmt: skip
    assert simulated.returncode == 0, simulated.stderr
    replayed = run_cli(
        "replay", str(sim / "events.jsonl"), "--out", str(sim / "decisions.jsonl"),
        database_url=url,
    )  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr
    scored = run_cli(
        "score", "--events", str(sim / "events.jsonl"), "--labels", str(sim / "labels.jsonl"),
        "--decisions", str(sim / "decisions.jsonl"), "--out", str(sim / "report"),
        database_url=url,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr

    manifest = json.loads((sim / "manifest.json").read_text())
    report = json.loads((sim / "report" / "report.json").read_text())
    assert {p.name for p in (sim / "report").iterdir()} >= {
        "report.json",
        "report.md",
        "report.html",
    }
    for name in CAMPAIGNS:
        simulated_campaign = manifest["campaigns"][name]
        scored_campaign = report["campaigns"][name]
        # The scoreboard's ground truth is the simulator's: same hijacks, same yen at stake.
        assert scored_campaign["hijacks"] == simulated_campaign["hijacks"]
        assert scored_campaign["yen_lost_no_defence"] == simulated_campaign["loss_yen"]
        assert report["baselines"]["no_defence"]["campaigns"][name]["stopped_rate"] in (0, None)
    assert sum(manifest["campaigns"][name]["hijacks"] for name in CAMPAIGNS) > 0
    legitimate = report["legitimate"]
    assert 0 <= legitimate["logins_challenged_rate"] <= 1
    low, high = legitimate["logins_challenged_rate_ci95"]
    assert low <= legitimate["logins_challenged_rate"] <= high
