"""The files honour the contract: canonical events, aligned labels, one goal per hijack."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from kabuguard.labels import Actor, AttackerFactor, Campaign, LegitTag
from kabuguard.parsing import parse_event
from tests.simulate.conftest import Run

LABEL_KEYS = [
    "event_id", "actor", "campaign", "attack_id", "goal", "loss_yen", "attacker_has", "legit_tag",
]  # fmt: skip
GOAL_TYPES = {
    Campaign.STUFFING: {"login_attempt"},
    Campaign.ATO_NAIVE: {"execution", "withdrawal"},
    Campaign.ATO_VPN: {"execution", "withdrawal"},
    Campaign.ATO_TARGETED: {"execution", "withdrawal"},
    Campaign.RELAY: {"execution", "withdrawal"},
    Campaign.PUMP: {"execution"},
    Campaign.PAYOUT: {"withdrawal"},
    Campaign.DORMANT_EMAIL: {"contact_change"},
}


def _time(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def test_every_line_is_a_canonical_event_with_a_unique_id(everything: Run) -> None:
    ids = [parse_event(line).event_id for line in everything.lines]
    assert len(ids) > 50_000
    assert len(set(ids)) == len(ids)
    assert everything.manifest["files"]["lines"] == len(ids)


def test_labels_line_up_with_events_one_to_one(everything: Run) -> None:
    assert len(everything.labels) == len(everything.events)
    for event, label in everything.pairs():
        assert list(label) == LABEL_KEYS
        assert label["event_id"] == event["event_id"]


def test_events_are_sorted_by_time(everything: Run) -> None:
    times = [_time(event) for event in everything.events]
    assert times == sorted(times)
    assert times[0].utcoffset() == timedelta(hours=9)


def test_labels_use_only_the_contract_values(everything: Run) -> None:
    for event, label in everything.pairs():
        assert label["actor"] in set(Actor)
        assert isinstance(label["loss_yen"], int)
        assert label["loss_yen"] >= 0
        assert set(label["attacker_has"]) <= set(AttackerFactor)
        if label["actor"] == Actor.ATTACKER:
            assert label["campaign"] in set(Campaign)
            assert label["legit_tag"] is None
        else:
            assert (label["campaign"], label["attack_id"], label["goal"]) == (None, None, False)
            assert (label["loss_yen"], label["attacker_has"]) == (0, [])
        if label["actor"] == Actor.MARKET:
            assert event["type"] in {"instrument", "price"}
            assert label["legit_tag"] is None


def test_every_campaign_has_hijacks_each_with_exactly_one_goal(everything: Run) -> None:
    attacks = everything.attacks()
    by_campaign: Counter[str] = Counter()
    for attack_id, steps in attacks.items():
        campaign = Campaign(steps[0][1]["campaign"])
        by_campaign[campaign] += 1
        assert attack_id.startswith(campaign.value)
        goals = [event for event, label in steps if label["goal"]]
        assert len(goals) == 1, attack_id
        assert goals[0]["type"] in GOAL_TYPES[campaign], attack_id
        assert all(label["campaign"] == campaign for _, label in steps)
    assert set(by_campaign) == set(Campaign)
    assert all(count >= 3 for count in by_campaign.values()), by_campaign
    manifest = everything.manifest["campaigns"]
    assert {name: figures["hijacks"] for name, figures in manifest.items()} == by_campaign
    assert all(manifest[name]["goals"] == manifest[name]["hijacks"] for name in manifest)


def test_loss_follows_the_contract(everything: Run) -> None:
    for steps in everything.attacks().values():
        campaign = steps[0][1]["campaign"]
        for event, label in steps:
            if event["type"] == "withdrawal":
                assert label["loss_yen"] == int(event["amount"])
            elif event["type"] != "execution":
                assert label["loss_yen"] == 0
            elif event["side"] == "buy":  # a buy far above the market costs the victim
                assert label["loss_yen"] > 0
        if campaign in (Campaign.STUFFING, Campaign.DORMANT_EMAIL):
            assert sum(label["loss_yen"] for _, label in steps) == 0
    for campaign in (Campaign.PUMP, Campaign.RELAY, Campaign.PAYOUT):
        assert everything.manifest["campaigns"][campaign]["loss_yen"] > 0


def test_attacker_factors_match_the_campaign(everything: Run) -> None:
    for steps in everything.attacks().values():
        label = steps[0][1]
        expected = (
            ["password", "otp_relay"] if label["campaign"] == Campaign.RELAY else ["password"]
        )
        assert label["attacker_has"] == expected


def test_every_legitimate_behaviour_is_present_and_only_on_customers(everything: Run) -> None:
    tags = Counter(label["legit_tag"] for label in everything.labels if label["legit_tag"])
    assert set(tags) == set(LegitTag)
    assert everything.manifest["legit_tag_events"] == {tag: tags[tag] for tag in LegitTag}


def test_legitimate_payout_changes_keep_the_customers_own_name(everything: Run) -> None:
    moves = [e for e, lab in everything.pairs() if lab["legit_tag"] == LegitTag.BANK_MOVE]
    assert any(e["type"] == "payout_change" for e in moves)
    sale_withdrawals = [
        e for e, lab in everything.pairs()
        if lab["legit_tag"] == LegitTag.HOUSE_SALE and e["type"] in {"execution", "withdrawal"}
    ]  # fmt: skip
    assert {e["type"] for e in sale_withdrawals} >= {"execution"}


def test_stuffing_succeeds_between_a_tenth_of_a_percent_and_two_percent(everything: Run) -> None:
    tries = successes = unknown = 0
    for event, label in everything.pairs():
        if label["campaign"] == Campaign.STUFFING and event.get("step") == "password":
            tries += 1
            successes += event["result"] == "success"
            unknown += "attempted_username" in event
    assert 0.001 <= successes / tries <= 0.02
    assert 0.2 < unknown / tries < 0.6  # many usernames the broker does not know
    stuffing = everything.manifest["stuffing"]
    assert (stuffing["tries"], stuffing["password_successes"]) == (tries, successes)


def test_relays_log_in_seconds_after_the_victims_own_attempt(everything: Run) -> None:
    own_login: dict[str, datetime] = {}
    for event, label in everything.pairs():
        if label["actor"] == Actor.CUSTOMER and event["type"] == "login_attempt":
            own_login[event["customer_id"]] = _time(event)
        if label["campaign"] == Campaign.RELAY and event.get("step") == "password":
            gap = _time(event) - own_login[event["customer_id"]]
            assert timedelta(0) < gap <= timedelta(seconds=10)


def test_a_pump_wave_buys_one_thin_symbol_and_the_gang_sells_at_the_top(everything: Run) -> None:
    pump_fills = [
        (event, label)
        for event, label in everything.pairs()
        if label["campaign"] == Campaign.PUMP and event["type"] == "execution"
    ]
    buyers: defaultdict[str, set[str]] = defaultdict(set)
    for event, label in pump_fills:
        if label["attack_id"] and event["side"] == "buy":
            buyers[event["symbol"]].add(event["customer_id"])
    symbol, accounts = max(buyers.items(), key=lambda item: len(item[1]))
    assert len(accounts) >= 5
    mine = [(event, label) for event, label in pump_fills if event["symbol"] == symbol]
    gang_sells = [
        label for event, label in mine if label["attack_id"] is None and event["side"] == "sell"
    ]
    assert gang_sells
    assert all(label["actor"] == Actor.ATTACKER for label in gang_sells)
    victim_buys = [_time(event) for event, label in mine if label["attack_id"]]
    assert max(victim_buys) - min(victim_buys) <= timedelta(hours=2, minutes=30)


def test_payout_fraud_uses_a_same_name_mule_then_withdraws(everything: Run) -> None:
    for steps in everything.attacks().values():
        if steps[0][1]["campaign"] != Campaign.PAYOUT:
            continue
        kinds = [event["type"] for event, _ in steps]
        change = steps[kinds.index("payout_change")][0]
        assert kinds.index("payout_change") < kinds.index("withdrawal")
        assert len(change["holder_name_kana"].split(" ")) == 2
        destinations = {e["destination_id"] for e, _ in steps if e["type"] == "withdrawal"}
        assert destinations == {change["destination_id"]}
