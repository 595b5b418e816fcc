"""One set of cases for every state implementation: MemoryState and SqlState must agree.

The `impl` fixture yields each implementation. SqlState runs inside one `database.write()`
session on SQLite and on PostgreSQL (through the shared `database` fixture); MemoryState needs
no database but is run alongside each backend, which costs nothing and keeps one test matrix.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from ipaddress import ip_network
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from kabuguard.db import Database
from kabuguard.decisions.models import EventRow
from kabuguard.decisions.records import dumps, event_digest, event_document
from kabuguard.risk.codes import Capability, Outcome, ReasonCode
from kabuguard.risk.decisions import Restriction, Verdict
from kabuguard.risk.engine import judge
from kabuguard.risk.events import Event
from kabuguard.risk.policy import Policy
from kabuguard.risk.signals import (
    BlockedNetwork,
    CustomerLockState,
    IPNetwork,
    Signals,
    SymbolHalt,
)
from kabuguard.state.interfaces import NotListed
from kabuguard.state.memory import MemoryState
from kabuguard.state.sql import ListCache, SqlBatch, SqlState
from tests import factories

POLICY = Policy.default()
T0 = factories.BASE_TIME
JST = timezone(timedelta(hours=9))


class SqlStateUnderTest:
    """Lists through SqlState; decision state through a fresh SqlBatch per call, loaded and
    flushed exactly as the decision service does for a batch of one."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._lists = SqlState(session)

    def _batch(self, customers: list[str], at: datetime) -> SqlBatch:
        return SqlBatch(self._session, ListCache(), customers=customers, earliest=at)

    def signals_for(self, event: Event) -> Signals:
        return SqlBatch.for_events(self._session, ListCache(), [event]).signals_for(event)

    def record(self, event: Event, verdict: Verdict) -> None:
        batch = SqlBatch.for_events(self._session, ListCache(), [event])
        batch.record(event, verdict)
        batch.flush()

    def active_restrictions(self, customer_id: str, at: datetime) -> tuple[Restriction, ...]:
        return self._batch([customer_id], at).active_restrictions(customer_id, at)

    def halt_symbol(self, halt: SymbolHalt) -> None:
        self._lists.halt_symbol(halt)

    def lift_halt(self, symbol: str, market: str) -> SymbolHalt:
        return self._lists.lift_halt(symbol, market)

    def halts(self, at: datetime) -> list[SymbolHalt]:
        return self._lists.halts(at)

    def block_network(self, blocked: BlockedNetwork) -> None:
        self._lists.block_network(blocked)

    def unblock_network(self, network: IPNetwork) -> BlockedNetwork:
        return self._lists.unblock_network(network)

    def blocked_networks(self, at: datetime) -> list[BlockedNetwork]:
        return self._lists.blocked_networks(at)


@dataclass
class Impl:
    """A state implementation plus what it needs before `record` (SQL: the event's row)."""

    state: MemoryState | SqlStateUnderTest
    session: Session | None = None
    stored: set[str] = field(default_factory=set)

    def decide(self, event: Event) -> Verdict:
        """The service's order of work: store the event, fetch signals, judge, record."""
        self._store(event)
        verdict = judge(event, self.state.signals_for(event), POLICY)
        self.state.record(event, verdict)
        return verdict

    def _store(self, event: Event) -> None:
        if self.session is None or event.event_id in self.stored:
            return
        document = event_document(event)
        self.session.execute(
            insert(EventRow).values(
                event_id=event.event_id,
                type=event.type.value,
                customer_id=event.customer_id,
                occurred_at=event.occurred_at,
                received_at=event.occurred_at,
                digest=event_digest(document),
                payload=dumps(document),
            )
        )
        self.stored.add(event.event_id)


@pytest.fixture(params=["MemoryState", "SqlState"])
def impl(request: pytest.FixtureRequest, database: Database) -> Iterator[Impl]:
    if request.param == "MemoryState":
        yield Impl(MemoryState())
        return
    with database.write() as session:
        yield Impl(SqlStateUnderTest(session), session)


def _event(document: dict[str, Any]) -> Event:
    return factories.typed(document)


def _net(text: str) -> IPNetwork:
    return ip_network(text)


# Halted symbols


def test_halt_list_and_lift(impl: Impl) -> None:
    state = impl.state
    toyota = SymbolHalt("7203", "TSE", "pump alert", None)
    sony = SymbolHalt("6758", "TSE", "news pending", T0 + timedelta(hours=1))
    apple = SymbolHalt("AAPL", "NASDAQ", "review", None)
    for halt in (toyota, sony, apple):
        state.halt_symbol(halt)

    assert state.halts(T0) == [apple, sony, toyota]
    lifted = state.lift_halt("7203", "TSE")
    assert lifted == toyota
    assert state.halts(T0) == [apple, sony]


def test_halt_again_replaces_the_entry(impl: Impl) -> None:
    first = SymbolHalt("7203", "TSE", "first", T0 + timedelta(hours=1))
    second = SymbolHalt("7203", "TSE", "second", None)
    impl.state.halt_symbol(first)
    assert impl.state.halts(T0) == [first]
    impl.state.halt_symbol(second)
    assert impl.state.halts(T0 + timedelta(days=1)) == [second]
    assert impl.state.lift_halt("7203", "TSE") == second


def test_expired_halt_is_not_listed_and_does_not_match(impl: Impl) -> None:
    until = T0 + timedelta(hours=1)
    impl.state.halt_symbol(SymbolHalt("7203", "TSE", "news pending", until))

    before = impl.state.signals_for(_event(factories.order(minutes=59)))
    assert before.symbol_halt == SymbolHalt("7203", "TSE", "news pending", until)
    assert impl.state.halts(until - timedelta(seconds=1)) != []

    at_expiry = impl.state.signals_for(_event(factories.order(minutes=60)))
    assert at_expiry.symbol_halt is None
    assert impl.state.halts(until) == []
    assert impl.state.halts(until + timedelta(days=1)) == []


def test_halt_matches_only_buys_of_that_symbol_on_that_market(impl: Impl) -> None:
    impl.state.halt_symbol(SymbolHalt("7203", "TSE", "pump alert", None))
    state = impl.state
    assert state.signals_for(_event(factories.order(side="buy"))).symbol_halt is not None
    assert state.signals_for(_event(factories.order(side="sell"))).symbol_halt is None
    assert state.signals_for(_event(factories.order(symbol="6758"))).symbol_halt is None
    assert state.signals_for(_event(factories.order(market="NSE"))).symbol_halt is None
    assert state.signals_for(_event(factories.withdrawal())).symbol_halt is None


def test_halted_buy_is_denied_end_to_end(impl: Impl) -> None:
    impl.state.halt_symbol(SymbolHalt("7203", "TSE", "pump alert", None))
    impl.decide(_event(factories.instrument(symbol="7203")))  # a known symbol, or it is held
    buy = impl.decide(_event(factories.order(symbol="7203", side="buy")))
    sell = impl.decide(_event(factories.order(symbol="7203", side="sell")))
    assert (buy.outcome, [h.code for h in buy.hits]) == (
        Outcome.DENY,
        [ReasonCode.ORDER_SYMBOL_HALTED],
    )
    assert (sell.outcome, sell.hits) == (Outcome.ALLOW, ())


def test_lifting_a_symbol_that_is_not_listed_raises(impl: Impl) -> None:
    impl.state.halt_symbol(SymbolHalt("7203", "TSE", "pump alert", None))
    with pytest.raises(NotListed) as caught:
        impl.state.lift_halt("6758", "TSE")
    assert caught.value.list_name == "halted symbol"
    assert caught.value.key == "TSE:6758"
    with pytest.raises(NotListed):
        impl.state.lift_halt("7203", "NSE")
    assert len(impl.state.halts(T0)) == 1


def test_lifting_twice_raises_the_second_time(impl: Impl) -> None:
    impl.state.halt_symbol(SymbolHalt("7203", "TSE", "pump alert", None))
    impl.state.lift_halt("7203", "TSE")
    with pytest.raises(NotListed):
        impl.state.lift_halt("7203", "TSE")


# Blocked networks


def test_block_list_and_unblock_networks(impl: Impl) -> None:
    state = impl.state
    entries = [
        BlockedNetwork(_net("198.51.100.0/24"), "credential stuffing", None),
        BlockedNetwork(_net("203.0.113.9/32"), "single host", T0 + timedelta(hours=1)),
        BlockedNetwork(_net("2001:db8:abcd::/48"), "botnet", None),
        BlockedNetwork(_net("2001:db8::1/128"), "v6 host", None),
    ]
    for entry in entries:
        state.block_network(entry)

    listed = state.blocked_networks(T0)
    assert sorted(listed, key=str) == sorted(entries, key=str)
    assert [b.network.version for b in listed] == [4, 4, 6, 6]

    removed = state.unblock_network(_net("2001:db8:abcd::/48"))
    assert removed == entries[2]
    assert entries[2] not in state.blocked_networks(T0)
    assert len(state.blocked_networks(T0)) == 3


def test_block_again_replaces_the_entry(impl: Impl) -> None:
    first = BlockedNetwork(_net("198.51.100.0/24"), "first", None)
    second = BlockedNetwork(_net("198.51.100.0/24"), "second", T0 + timedelta(minutes=30))
    impl.state.block_network(first)
    assert impl.state.blocked_networks(T0) == [first]
    assert impl.state.signals_for(_event(factories.login(minutes=60))).blocked_network == first
    impl.state.block_network(second)
    assert impl.state.blocked_networks(T0) == [second]
    assert impl.state.signals_for(_event(factories.login(minutes=0))).blocked_network == second
    assert impl.state.signals_for(_event(factories.login(minutes=60))).blocked_network is None
    assert impl.state.unblock_network(_net("198.51.100.0/24")) == second


def test_expired_block_is_not_listed_and_does_not_match(impl: Impl) -> None:
    until = T0 + timedelta(hours=1)
    impl.state.block_network(BlockedNetwork(_net("198.51.100.0/24"), "temporary", until))

    before = impl.state.signals_for(_event(factories.login(minutes=59, ip="198.51.100.200")))
    assert before.blocked_network is not None
    assert before.blocked_network.network == _net("198.51.100.0/24")

    after = impl.state.signals_for(_event(factories.login(minutes=60, ip="198.51.100.200")))
    assert after.blocked_network is None
    assert impl.state.blocked_networks(until) == []


@pytest.mark.parametrize(
    ("network", "inside", "outside"),
    [
        ("198.51.100.0/24", "198.51.100.254", "198.51.101.1"),
        ("10.0.0.0/8", "10.255.3.4", "11.0.0.1"),
        ("203.0.113.9/32", "203.0.113.9", "203.0.113.10"),
        ("2001:db8:abcd::/48", "2001:db8:abcd:12::5", "2001:db8:abce::5"),
        ("2001:db8::1/128", "2001:db8::1", "2001:db8::2"),
    ],
)
def test_signals_find_the_blocked_network_around_an_address(
    impl: Impl, network: str, inside: str, outside: str
) -> None:
    blocked = BlockedNetwork(_net(network), "abuse", None)
    impl.state.block_network(blocked)
    hit = impl.state.signals_for(_event(factories.login(ip=inside)))
    miss = impl.state.signals_for(_event(factories.login(ip=outside)))
    assert hit.blocked_network == blocked
    assert miss.blocked_network is None


def test_blocked_network_denies_end_to_end(impl: Impl) -> None:
    impl.state.block_network(BlockedNetwork(_net("198.51.100.0/24"), "abuse", None))
    verdict = impl.decide(_event(factories.login(ip="198.51.100.7")))
    assert verdict.outcome is Outcome.DENY
    # The login rules also say the documentation range is unknown to the geo data.
    assert [h.code for h in verdict.hits if not h.code.startswith("login:")] == [
        ReasonCode.NETWORK_IP_BLOCKED
    ]


def test_unblocked_network_no_longer_matches(impl: Impl) -> None:
    impl.state.block_network(BlockedNetwork(_net("198.51.100.0/24"), "abuse", None))
    assert impl.state.signals_for(_event(factories.login())).blocked_network is not None
    impl.state.unblock_network(_net("198.51.100.0/24"))
    assert impl.state.signals_for(_event(factories.login())).blocked_network is None


def test_unblocking_a_network_that_is_not_listed_raises(impl: Impl) -> None:
    impl.state.block_network(BlockedNetwork(_net("198.51.100.0/24"), "abuse", None))
    with pytest.raises(NotListed) as caught:
        impl.state.unblock_network(_net("198.51.100.0/25"))
    assert caught.value.list_name == "blocked network"
    assert caught.value.key == "198.51.100.0/25"
    with pytest.raises(NotListed):
        impl.state.unblock_network(_net("2001:db8::/32"))


def test_unparseable_or_missing_ip_matches_no_network(impl: Impl) -> None:
    impl.state.block_network(BlockedNetwork(_net("0.0.0.0/0"), "everything", None))
    bad = impl.state.signals_for(_event(factories.login(ip="not-an-ip")))
    assert bad.blocked_network is None
    assert bad.ip.unparseable
    document = factories.login()
    del document["ip"]
    missing = impl.state.signals_for(_event(document))
    assert missing.blocked_network is None
    assert not missing.ip.unparseable


def test_ipv4_mapped_address_matches_an_ipv4_block(impl: Impl) -> None:
    impl.state.block_network(BlockedNetwork(_net("198.51.100.0/24"), "abuse", None))
    signals = impl.state.signals_for(_event(factories.login(ip="::ffff:198.51.100.7")))
    assert signals.blocked_network is not None


# Locks


def test_lock_event_locks_and_unlock_clears(impl: Impl) -> None:
    locked = impl.decide(_event(factories.lock(minutes=0, reason="phone stolen")))
    assert locked.outcome is Outcome.ALLOW

    signals = impl.state.signals_for(_event(factories.withdrawal(minutes=5)))
    assert signals.lock == CustomerLockState(
        since=T0, initiated_by="customer", reason="phone stolen"
    )
    denied = impl.decide(_event(factories.withdrawal(minutes=5)))
    assert (denied.outcome, [h.code for h in denied.hits]) == (
        Outcome.DENY,
        [ReasonCode.CUSTOMER_LOCK_ACTIVE],
    )

    other = impl.state.signals_for(_event(factories.withdrawal(customer="c-2", minutes=5)))
    assert other.lock is None

    impl.decide(_event(factories.unlock(minutes=10)))
    assert impl.state.signals_for(_event(factories.withdrawal(minutes=15))).lock is None
    allowed = impl.decide(_event(factories.withdrawal(minutes=15)))
    assert (allowed.outcome, allowed.hits) == (Outcome.ALLOW, ())


def test_relocking_replaces_the_lock(impl: Impl) -> None:
    impl.decide(_event(factories.lock(minutes=0, initiated_by="customer")))
    impl.decide(_event(factories.lock(minutes=5, initiated_by="staff", reason="fraud team")))
    lock = impl.state.signals_for(_event(factories.login(minutes=6))).lock
    assert lock == CustomerLockState(
        since=T0 + timedelta(minutes=5), initiated_by="staff", reason="fraud team"
    )


def test_unlock_without_a_lock_is_harmless(impl: Impl) -> None:
    verdict = impl.decide(_event(factories.unlock()))
    assert verdict.outcome is Outcome.ALLOW
    assert impl.state.signals_for(_event(factories.login(minutes=1))).lock is None


# Restrictions


def test_restrictions_from_a_verdict_are_active_until_their_end(impl: Impl) -> None:
    change = _event(factories.payout_change(minutes=0))
    verdict = impl.decide(change)
    until = T0 + POLICY.payout_cooling_off
    expected = Restriction(
        Capability.WITHDRAW, until, Outcome.HOLD, ReasonCode.PAYOUT_DESTINATION_COOLING_OFF
    )
    assert verdict.restrictions == (expected,)

    hours = 72 * 60
    during = impl.state.signals_for(_event(factories.withdrawal(minutes=hours - 1)))
    assert during.restrictions == (expected,)
    assert impl.state.active_restrictions("c-1", until - timedelta(microseconds=1)) == (expected,)

    held = impl.decide(_event(factories.withdrawal(minutes=hours - 1)))
    assert (held.outcome, [h.code for h in held.hits]) == (
        Outcome.HOLD,
        [ReasonCode.RESTRICTION_WITHDRAW_ACTIVE],
    )

    assert impl.state.active_restrictions("c-1", until) == ()
    assert impl.state.signals_for(_event(factories.withdrawal(minutes=hours))).restrictions == ()
    allowed = impl.decide(_event(factories.withdrawal(minutes=hours + 1)))
    assert (allowed.outcome, allowed.hits) == (Outcome.ALLOW, ())


def test_restrictions_belong_to_their_customer(impl: Impl) -> None:
    impl.decide(_event(factories.payout_change(customer="c-1")))
    assert len(impl.state.active_restrictions("c-1", T0)) == 1
    assert impl.state.active_restrictions("c-2", T0) == ()
    other = impl.decide(_event(factories.withdrawal(customer="c-2", minutes=1)))
    assert other.outcome is Outcome.ALLOW


def test_restrictions_accumulate_and_expire_separately(impl: Impl) -> None:
    impl.decide(_event(factories.payout_change(minutes=0)))
    impl.decide(_event(factories.payout_change(minutes=60)))
    first, second = T0 + timedelta(hours=72), T0 + timedelta(hours=73)
    assert [r.until for r in impl.state.active_restrictions("c-1", T0 + timedelta(hours=1))] == [
        first,
        second,
    ]
    assert [r.until for r in impl.state.active_restrictions("c-1", first)] == [second]
    assert impl.state.active_restrictions("c-1", second) == ()


def test_restriction_expiry_compares_instants_across_zones(impl: Impl) -> None:
    impl.decide(_event(factories.payout_change(occurred_at="2026-11-20T09:00:00+09:00")))
    until = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    just_before = "2026-11-23T08:59:59+09:00"
    at_end = "2026-11-23T09:00:00+09:00"
    assert impl.state.active_restrictions("c-1", until.astimezone(JST) - timedelta(seconds=1))
    before = impl.state.signals_for(_event(factories.withdrawal(occurred_at=just_before)))
    assert [r.until for r in before.restrictions] == [until]
    after = impl.state.signals_for(_event(factories.withdrawal(occurred_at=at_end)))
    assert after.restrictions == ()


def test_denied_payout_change_records_no_restriction(impl: Impl) -> None:
    impl.state.block_network(BlockedNetwork(_net("198.51.100.7/32"), "abuse", None))
    verdict = impl.decide(_event(factories.payout_change()))
    assert verdict.outcome is Outcome.DENY
    assert verdict.restrictions == ()
    assert impl.state.active_restrictions("c-1", T0) == ()


def test_events_without_a_customer_have_no_customer_signals(impl: Impl) -> None:
    impl.decide(_event(factories.lock(customer="c-1")))
    signals = impl.state.signals_for(
        _event(factories.login(customer=None, attempted_username="c-1"))
    )
    assert signals.lock is None
    assert signals.restrictions == ()


# Customer locks


def test_a_staff_lock_outranks_the_customers_own_lock_and_unlock(impl: Impl) -> None:
    """Every state keeps the staff lock's initiator and reason: the customer's lock does not
    replace it, and the customer's unlock does not lift it."""
    state = impl.state

    def apply(document: dict[str, Any]) -> None:
        impl.decide(_event(document))

    apply(factories.lock(initiated_by="staff", reason="hijack suspected"))
    apply(factories.lock(minutes=1, reason="this wasn't me"))
    apply(factories.unlock(minutes=2, initiated_by="customer"))
    held = state.signals_for(_event(factories.login(minutes=3))).lock
    assert held is not None
    assert (held.initiated_by, held.reason) == ("staff", "hijack suspected")
    apply(factories.unlock(minutes=4))  # staff
    assert state.signals_for(_event(factories.login(minutes=5))).lock is None
