"""Events through the real engine (`kabuguard.replay.replay`), then scored.

The simulator will replace these hand-written stories; the engine's decisions are real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from kabuguard.replay import replay
from kabuguard.risk.policy import Policy
from kabuguard.scoreboard.inputs import InputPaths
from kabuguard.scoreboard.report import build_report
from kabuguard.scoreboard.scoring import score
from tests import factories as f
from tests.factories import BASE_TIME
from tests.scoreboard.builders import attacker, write_lines

Line = tuple[dict[str, Any] | bytes, dict[str, Any]]
BROKEN = orjson.dumps({"type": "order", "event_id": "broken", "occurred_at": f.at(30)})


def _stories() -> list[Line]:
    payout = attacker("payout", "p1")
    locked = attacker("ato_naive", "a1")
    pump = attacker("pump", "k1", attacker_has=["password", "otp_relay"])
    customer = {"actor": "customer"}
    return [
        (f.instrument(), {"actor": "market"}),  # reference data for the customer's 7203
        (f.login("c-1", 0), customer),
        (f.order("c-1", 1), customer),
        # 2020 payout fraud: change the destination, withdraw an hour later. The 72 h
        # cooling-off holds the withdrawal: the hijack is stopped at its goal.
        (f.payout_change("c-2", 5), payout),
        (f.withdrawal("c-2", 65), payout | {"goal": True, "loss_yen": 3_370_000}),
        # The customer saw "a code I did not ask for" and locked the account himself: the
        # attacker's login a minute later is denied.
        (f.lock("c-3", 10), customer),
        (f.login("c-3", 11, ip="203.0.113.50"), locked),
        (f.order("c-3", 12, side="sell"), locked | {"goal": True, "loss_yen": 40_000}),
        # A relayed pump buy of a symbol with no reference data: the order guard holds it.
        (f.login("c-4", 20), pump),
        (f.order("c-4", 21, symbol="2345"), pump | {"goal": True, "loss_yen": 260_000}),
        # A line replay cannot parse: it writes no decision, and score skips it too.
        (BROKEN, {"event_id": "broken", "actor": "customer"}),
    ]


def test_engine_decisions_are_scored_against_the_ground_truth(tmp_path: Path) -> None:
    paths = InputPaths(
        tmp_path / "events.jsonl", tmp_path / "labels.jsonl", tmp_path / "decisions.jsonl"
    )
    lines = _stories()
    paths.events.write_bytes(
        b"".join(
            (event if isinstance(event, bytes) else orjson.dumps(event)) + b"\n"
            for event, _ in lines
        )
    )
    write_lines(
        paths.labels,
        [
            {"event_id": event["event_id"], **label} if isinstance(event, dict) else label
            for event, label in lines
        ],
    )
    policy = Policy.default()
    with paths.events.open("rb") as source, paths.decisions.open("wb") as sink:
        summary = replay(source, sink, policy)
    assert (summary.events, summary.bad_lines) == (10, 1)

    report = build_report(score(paths), {}, BASE_TIME)

    campaigns = report["campaigns"]
    assert (campaigns["payout"]["stopped"], campaigns["payout"]["yen_lost"]) == (1, 0)
    # Stopped at the payout change itself (a passkey is required), not an hour later.
    assert campaigns["payout"]["minutes_to_detect_p50"] == 0.0
    assert (campaigns["ato_naive"]["stopped"], campaigns["ato_naive"]["events_to_detect_p50"]) == (
        1,
        1.0,
    )
    assert (campaigns["pump"]["stopped"], campaigns["pump"]["yen_lost"]) == (1, 0)
    assert report["totals"]["yen_loss_prevented_rate"] == 1.0
    assert report["legitimate"]["orders_held_rate"] == 0.0
    assert report["metadata"]["policy_versions"] == [policy.version]
    assert report["metadata"]["counts"]["events_skipped_invalid"] == 1
    sms = report["baselines"]["sms_otp_only"]["campaigns"]
    assert (sms["ato_naive"]["stopped"], sms["pump"]["stopped"], sms["payout"]["stopped"]) == (
        1,
        0,
        0,
    )
