"""The engine runs only the rules for an event's type: on a simulated brokerage under attack,
that finds exactly the hits that running every rule finds."""

from __future__ import annotations

from pathlib import Path

from kabuguard.parsing import parse_event
from kabuguard.risk.engine import EVENT_TYPES, ONLY_FOR, RULES, RULES_FOR, decide
from kabuguard.risk.policy import Policy
from kabuguard.simulate.presets import PRESETS
from kabuguard.simulate.run import EVENTS_FILE, RunOptions, simulate
from kabuguard.state.memory import MemoryState


def test_every_event_type_has_its_rules_in_the_engines_order() -> None:
    assert set(RULES_FOR) == set(EVENT_TYPES)
    for kind, rules in RULES_FOR.items():
        assert list(rules) == [r for r in RULES if kind in ONLY_FOR.get(r, (kind,))]


def test_the_rules_skipped_for_a_type_find_nothing_on_it(tmp_path: Path) -> None:
    simulate(RunOptions(400, 3, 11, PRESETS["2025-04"], tmp_path))
    policy, state = Policy.default(), MemoryState()
    seen: set[type] = set()
    with (tmp_path / EVENTS_FILE).open("rb") as lines:
        for line in lines:
            event = parse_event(line)
            signals = state.signals_for(event)
            skipped = [rule for rule in RULES if rule not in RULES_FOR[type(event)]]
            assert [h for rule in skipped for h in rule(event, signals, policy)] == []
            state.record(event, decide(event, signals, policy).live)
            seen.add(type(event))
    assert len(seen) >= 8  # logins, orders, executions, prices, withdrawals, changes, ...
