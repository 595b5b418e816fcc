"""The guard's state: MemoryState and the SQL batch agree; cases, pivots and holds are kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from kabuguard.audit.chain import AuditKind
from kabuguard.audit.models import AuditEntry
from kabuguard.db import Database
from kabuguard.decisions.services import DecisionService, Policies, Submitted
from kabuguard.lists.services import ListService
from kabuguard.risk.codes import FactorClass, Outcome, ReasonCode
from kabuguard.risk.decisions import Verdict
from kabuguard.risk.engine import judge
from kabuguard.risk.events import Event, PayoutChange
from kabuguard.risk.guard_policy import HaltMode
from kabuguard.risk.money import Destination, DestinationStatus
from kabuguard.risk.policy import Policy
from kabuguard.risk.signals import ParsedIP, Signals, SymbolHalt
from kabuguard.risk.trading import InstrumentFacts, buyer_weight
from kabuguard.state.guard import SWEEP_FLOOR, CustomerRecord, GuardChanges, GuardMemory
from kabuguard.state.guard_codec import dump_record, dump_reference, load_record, load_reference
from kabuguard.state.guard_models import (
    CaseAccountRow,
    GuardCustomerRow,
    GuardKeyRow,
    HoldRow,
    ProductRestrictionRow,
    RegisteredNameRow,
)
from kabuguard.state.guard_sql import SqlGuardStore, _keyed_rows, keys_for
from kabuguard.state.login import Changes
from kabuguard.state.memory import MemoryState
from kabuguard.state.money import DESTINATION_CAP, CustomerMoney
from kabuguard.state.sql import SqlState
from tests import factories
from tests.state.test_conformance import Impl, impl  # noqa: F401 - the shared fixture

POLICY = Policy.default()
DAYS_3 = timedelta(hours=72)
TOYOTA_FACTS = InstrumentFacts(
    "7203", "TSE", "JPY", 100, 10**10, 2 * 10**7, Decimal(3200), Decimal(2200),
    Decimal(2500), None, Decimal(2490),
)  # fmt: skip


def _codes(verdict: object) -> set[ReasonCode]:
    return {hit.code for hit in verdict.hits}  # type: ignore[attr-defined]


def _reference(state: Impl) -> None:
    state.decide(factories.typed(factories.instrument()))
    price = {"type": "price", "event_id": "p-1", "occurred_at": factories.at(-1),
             "symbol": "7203", "market": "TSE", "last": "2500"}  # fmt: skip
    state.decide(factories.typed(price))


def test_a_buy_far_above_the_last_price_is_held(impl: Impl) -> None:  # noqa: F811
    _reference(impl)
    verdict = impl.decide(factories.typed(factories.order(limit_price="2900")))
    assert verdict.outcome is Outcome.HOLD
    assert ReasonCode.ORDER_PRICE_FAR_ABOVE_LAST in _codes(verdict)
    assert (
        impl.decide(factories.typed(factories.order(limit_price="2505"))).outcome is Outcome.ALLOW
    )


def test_a_withdrawal_to_a_new_destination_is_held_during_its_cooling_off(impl: Impl) -> None:  # noqa: F811
    change = impl.decide(factories.typed(factories.payout_change()))
    assert change.outcome is Outcome.CHALLENGE  # a passkey is asked for
    to_new = factories.withdrawal(minutes=60, destination_id="dst-2")
    withdrawal = impl.decide(factories.typed(to_new))
    assert withdrawal.outcome is Outcome.HOLD
    assert ReasonCode.WITHDRAWAL_DESTINATION_COOLING_OFF in _codes(withdrawal)


@pytest.mark.parametrize(("approved_with", "held"), [(None, True), ("passkey", False)])
def test_after_a_risky_login_only_money_to_an_unsigned_new_account_is_held(
    impl: Impl,  # noqa: F811
    approved_with: str | None,
    held: bool,
) -> None:
    signature: dict[str, Any] = {"approved_with": approved_with} if approved_with else {}
    impl.decide(factories.typed(factories.payout_change(destination_id="dst-2", **signature)))
    abroad = factories.login(minutes=72 * 60, ip="121.163.55.136", session_id="s-9")
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(impl.decide(factories.typed(abroad)))
    later = factories.withdrawal(minutes=73 * 60, destination_id="dst-2", session_id="s-8")
    verdict = impl.decide(factories.typed(later))
    assert (ReasonCode.WITHDRAWAL_LOGIN_RISKY in _codes(verdict)) is held
    assert (verdict.outcome is Outcome.HOLD) is held


def test_a_bank_account_registered_by_a_second_customer_is_a_likely_mule(impl: Impl) -> None:  # noqa: F811
    impl.decide(factories.typed(factories.payout_change("c-1", approved_with="passkey")))
    verdict = impl.decide(factories.typed(factories.payout_change("c-2", minutes=5)))
    assert ReasonCode.PAYOUT_ACCOUNT_SHARED in _codes(verdict)
    assert verdict.outcome is Outcome.HOLD


def test_naming_someone_elses_account_unsigned_does_not_make_it_a_mule(impl: Impl) -> None:  # noqa: F811
    impl.decide(factories.typed(factories.payout_change("stranger")))  # challenged, not signed
    owner = factories.payout_change("c-1", minutes=60 * 72, approved_with="passkey")
    verdict = impl.decide(factories.typed(owner))
    assert ReasonCode.PAYOUT_ACCOUNT_SHARED not in _codes(verdict)


@pytest.mark.parametrize(
    ("outcome", "factor", "remembered"),
    [
        (Outcome.ALLOW, None, True),  # risky and let through: remembered for 24 h
        (Outcome.CHALLENGE, FactorClass.ANY_MFA, True),  # a one-time code can be relayed
        (Outcome.CHALLENGE, FactorClass.PHISHING_RESISTANT, False),  # passed a passkey
    ],
)
def test_only_a_login_not_stepped_up_to_a_passkey_is_remembered_as_risky(
    outcome: Outcome, factor: FactorClass | None, remembered: bool
) -> None:
    state = MemoryState(guard=GuardMemory(POLICY))
    login = factories.typed(factories.login("c-1", minutes=0))
    state.signals_for(login)
    state.record(login, Verdict(outcome, 50, factor, (), (), POLICY.version))
    withdrawal = factories.typed(factories.withdrawal("c-1", minutes=60))
    money = state.signals_for(withdrawal).money
    assert (money.risky_login_at is not None) is remembered


def test_product_restrictions_reach_the_rules_from_memory() -> None:
    state = MemoryState()
    state.guard.restrict_markets("c-1", frozenset({"NASDAQ"}))
    order = factories.typed(factories.order(symbol="AAPL", market="NASDAQ", currency="USD"))
    verdict = judge(order, state.signals_for(order), POLICY)
    assert ReasonCode.ORDER_PRODUCT_RESTRICTED in _codes(verdict)


def _coordination_policy() -> Policy:
    knobs = replace(POLICY.guard.coordination, min_accounts=2.0, calm_weight=1.0)
    return replace(POLICY, guard=replace(POLICY.guard, coordination=knobs))


def _buyers(
    state: MemoryState,
    policy: Policy,
    seen: list[Event] | None = None,
    shared_ip: str = "60.95.1.50",
) -> list[Verdict]:
    verdicts: list[Verdict] = []
    seen = [] if seen is None else seen
    _reference_memory(state, policy, seen)
    # c-9 logs in from the same IP as the second buyer (each has a device of their own): the
    # pivot must find it through the IP.
    login = factories.typed(factories.login("c-9", minutes=-30, ip=shared_ip, session_id="s9",
                                            device_id="dev-9"))  # fmt: skip
    state.record(login, judge(login, state.signals_for(login), policy))
    seen.append(login)
    for number, ip in ((1, "60.95.1.10"), (2, shared_ip), (3, "60.95.1.77")):
        order = factories.typed(
            factories.order(f"c-{number}", minutes=number, ip=ip, limit_price="2505",
                            session_id=f"s{number}", device_id=f"dev-{number}")
        )  # fmt: skip
        verdict = judge(order, state.signals_for(order), policy)
        state.record(order, verdict)
        verdicts.append(verdict)
        seen.append(order)
    return verdicts


def _reference_memory(state: MemoryState, policy: Policy, seen: list[Event]) -> None:
    event = factories.typed(factories.instrument())
    state.record(event, judge(event, state.signals_for(event), policy))
    seen.append(event)


def test_coordination_opens_one_case_with_the_buyers_and_the_pivot() -> None:
    policy = _coordination_policy()
    state = MemoryState(guard=GuardMemory(policy))
    verdicts = _buyers(state, policy)
    assert ReasonCode.ORDER_COORDINATION_SYMBOL in _codes(verdicts[1])
    (case,) = state.guard.cases.values()
    assert (case.market, case.symbol) == ("TSE", "7203")
    assert {c: r.value for c, r in case.accounts.items()} == {
        "c-1": "buyer", "c-2": "buyer", "c-3": "buyer", "c-9": "pivot",
    }  # fmt: skip
    pivoted = factories.typed(factories.order("c-9", minutes=10, limit_price="2505"))
    assert ReasonCode.ORDER_COORDINATION_PIVOT in _codes(
        judge(pivoted, state.signals_for(pivoted), policy)
    )


def test_a_private_address_shared_behind_a_nat_is_not_pivoted_on() -> None:
    policy = _coordination_policy()
    state = MemoryState(guard=GuardMemory(policy))
    _buyers(state, policy, shared_ip="10.0.0.1")
    (case,) = state.guard.cases.values()
    assert "c-9" not in case.accounts


def test_an_applying_policy_halts_buys_of_the_symbol() -> None:
    policy = _applying_policy()
    state = MemoryState(guard=GuardMemory(policy))
    _buyers(state, policy)
    later = factories.typed(factories.order("c-5", minutes=20, limit_price="2505"))
    verdict = judge(later, state.signals_for(later), policy)
    assert ReasonCode.ORDER_SYMBOL_HALTED in _codes(verdict)
    assert verdict.outcome is Outcome.DENY


def _applying_policy() -> Policy:
    policy = _coordination_policy()
    knobs = replace(policy.guard.coordination, halt=HaltMode.APPLY)
    return replace(policy, guard=replace(policy.guard, coordination=knobs))


def test_an_applied_halt_never_shortens_a_staff_halt_in_memory() -> None:
    policy = _applying_policy()
    state = MemoryState(guard=GuardMemory(policy))
    staff = SymbolHalt("7203", "TSE", "hijack wave: until lifted", None)
    state.halt_symbol(staff)
    _buyers(state, policy)
    assert state.halts(factories.BASE_TIME + timedelta(days=30)) == [staff]
    assert state.automatic_halts == []


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("staff_first", [False, True], ids=["no-staff-halt", "staff-halt"])
def test_an_applied_halt_is_audited_as_a_list_change_and_keeps_a_staff_halt(
    database: Database, staff_first: bool
) -> None:
    policy = _applying_policy()
    events: list[Event] = []
    _buyers(MemoryState(guard=GuardMemory(policy)), policy, events)
    staff = SymbolHalt("7203", "TSE", "hijack wave: until lifted", None)
    if staff_first:
        with database.write() as session:
            ListService(session, actor="staff:a", at=factories.BASE_TIME).halt(staff)
    service = DecisionService(database, Policies(policy), clock=lambda: factories.BASE_TIME,
                              max_future_skew=timedelta(days=3650))  # fmt: skip
    for event in events:  # one group each, as they would arrive
        assert isinstance(service.decide_many([(event, "t")])[0], Submitted)
    with database.read() as session:
        halts = SqlState(session).halts(factories.BASE_TIME + timedelta(days=1))
        added = session.execute(
            select(AuditEntry.actor, AuditEntry.subject).where(
                AuditEntry.kind == AuditKind.LIST_HALTED_SYMBOL_ADDED.value
            )
        ).all()
    if staff_first:
        assert halts == [staff]
        assert [tuple(row) for row in added] == [("staff:a", "TSE:7203")]
    else:
        [halt] = halts
        assert halt.reason.startswith("coordination case")
        assert [tuple(row) for row in added] == [("system:coordination", "TSE:7203")]


@pytest.mark.parametrize("unsaved", [False, True])
def test_a_case_leaves_memory_once_its_alert_is_over_and_it_is_saved(unsaved: bool) -> None:
    """Replay keeps one state for a whole history: cases must not pile up in it. A SQL batch
    keeps the ones it has still to save (an event out of order may yet join them)."""
    policy = _coordination_policy()
    state = MemoryState(guard=GuardMemory(policy), keep_changes=unsaved)
    _buyers(state, policy)
    assert len(state.guard.cases) == 1
    after_alert = policy.guard.coordination.alert_hours * 60 + 10  # minutes after the buys
    for number in range(SWEEP_FLOOR):  # new devices grow the pivot index to its first sweep
        login = factories.typed(
            factories.login(f"x-{number}", minutes=after_alert, device_id=f"dx-{number}")
        )
        state.record(login, judge(login, state.signals_for(login), policy))
    assert len(state.guard.cases) == (1 if unsaved else 0)


def test_a_state_nobody_saves_keeps_no_record_of_what_changed() -> None:
    policy = _coordination_policy()
    saved = MemoryState(guard=GuardMemory(policy))
    replayed = MemoryState(guard=GuardMemory(policy), keep_changes=False)
    _buyers(saved, policy)
    _buyers(replayed, policy)
    assert saved.guard.changes.cases
    assert saved.login.changes.buckets
    assert replayed.guard.changes == GuardChanges()
    assert replayed.login.changes == Changes()
    assert replayed.guard.cases.keys() == saved.guard.cases.keys()  # the state itself is kept


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_sql_store_keeps_cases_holds_and_windows(database: Database) -> None:
    policy = _coordination_policy()
    memory = MemoryState(guard=GuardMemory(policy))
    events: list[Event] = []
    _buyers(memory, policy, events)
    with database.write() as session:
        impl = Impl(MemoryState(), session)
        for event in events:
            impl._store(event)
        store = SqlGuardStore(session)
        store.save(memory.guard, events[-1].occurred_at)
        accounts = session.execute(select(CaseAccountRow.customer_id, CaseAccountRow.role)).all()
        assert {(a.customer_id, a.role) for a in accounts} >= {("c-1", "buyer"), ("c-9", "pivot")}
        held = session.execute(select(HoldRow.event_id, HoldRow.status)).all()
        assert held
        assert {row.status for row in held} == {"pending"}
        loaded = store.load(policy, [factories.typed(factories.order("c-1", minutes=6))])
        assert set(loaded.symbols["TSE:7203"].buyers) == {"c-1", "c-2", "c-3"}
        assert loaded.customers["c-1"].profile is not None  # its buy went ahead: learned
        assert "TSE:7203" in loaded.reference


def test_an_order_worth_more_than_64_bits_of_yen_is_decided_and_stored(database: Database) -> None:
    service = DecisionService(database, Policies(POLICY), clock=lambda: factories.BASE_TIME,
                              max_future_skew=timedelta(days=3650))  # fmt: skip
    documents = [
        factories.instrument(),
        factories.order(side="sell", quantity=10**10, limit_price="10000000000", minutes=1),
        factories.order(minutes=2),
    ]
    results = service.decide_many([(factories.typed(d), "test") for d in documents])
    assert all(isinstance(result, Submitted) for result in results)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_only_a_buy_reads_or_rewrites_its_symbols_window(database: Database) -> None:
    """A busy symbol's window is the guard's largest row: a price report or a sell has no
    business with it (they read the reference facts only)."""
    service = DecisionService(database, Policies(POLICY), clock=lambda: factories.BASE_TIME,
                              max_future_skew=timedelta(days=3650))  # fmt: skip

    def stored(key: str) -> str | None:
        with database.read() as session:
            return session.scalar(select(GuardKeyRow.detail).where(GuardKeyRow.key == key))

    def decide(document: dict[str, Any]) -> None:
        (result,) = service.decide_many([(factories.typed(document), "test")])
        assert isinstance(result, Submitted)

    decide(factories.instrument())
    decide(factories.order("c-1", minutes=1))
    window = stored("sym:TSE:7203")
    reference = stored("ref:TSE:7203")
    assert window is not None
    price = {"type": "price", "event_id": "p-2", "occurred_at": factories.at(2),
             "symbol": "7203", "market": "TSE", "last": "2600"}  # fmt: skip
    decide(price)
    decide(factories.order("c-2", minutes=3, side="sell"))
    assert stored("sym:TSE:7203") == window
    assert stored("ref:TSE:7203") != reference  # the price itself was kept
    with database.write() as session:  # what a batch of a price and a sell reads and writes
        batch = [factories.typed(price | {"event_id": "p-3"}),
                 factories.typed(factories.order("c-2", minutes=3, side="sell"))]  # fmt: skip
        memory = SqlGuardStore(session).load(POLICY, batch)
        assert not memory.symbols
        for event in batch:
            memory.record(event, judge(event, Signals(ip=ParsedIP.parse(event.ip)), POLICY))
        assert [row["key"] for row in _keyed_rows(memory)] == ["ref:TSE:7203"]
    decide(factories.order("c-3", minutes=4))
    assert stored("sym:TSE:7203") != window
    for side, expected in (("sell", {"ref:TSE:7203"}), ("buy", {"ref:TSE:7203", "sym:TSE:7203"})):
        order = factories.typed(factories.order("c-2", minutes=5, side=side))
        assert {key for key in keys_for([order]) if key[:4] in ("ref:", "sym:")} == expected


@pytest.mark.parametrize(("hours", "live"), [(1, True), (13, False)])
def test_a_buyer_weighs_by_its_session_only_while_the_session_lasts(hours: int, live: bool) -> None:
    """The window weighs a buyer as the coordination rule does (`live_session`)."""
    state = MemoryState(guard=GuardMemory(POLICY))
    login = factories.typed(factories.login("c-1", ip="121.163.55.136", session_id="s-1"))
    decided = judge(login, state.signals_for(login), POLICY)
    state.record(login, decided)
    knobs = POLICY.guard.coordination
    risky = buyer_weight(decided.risk_score, knobs.risky_session_score, knobs.calm_weight)
    assert risky > knobs.calm_weight
    buy = factories.typed(factories.order("c-1", minutes=60 * hours, session_id="s-1"))
    state.record(buy, judge(buy, state.signals_for(buy), POLICY))
    expected = risky if live else knobs.calm_weight
    assert state.guard.symbols["TSE:7203"].buyers["c-1"][1] == pytest.approx(expected)


def test_a_signed_destination_survives_the_store_codec_and_old_records_still_load() -> None:
    record = CustomerRecord()
    at = factories.typed(factories.payout_change()).occurred_at
    record.money.destinations = {
        "dst-1": Destination("dst-1", DestinationStatus.ACCEPTED, at, None, signed=True),
        "dst-2": Destination("dst-2", DestinationStatus.ACCEPTED, at, at + timedelta(hours=72)),
    }
    text = dump_record(record)
    assert load_record(text).money.destinations == record.money.destinations
    stored_before = orjson.loads(text)
    del stored_before["ds"]  # what the release before this one wrote
    loaded = load_record(orjson.dumps(stored_before).decode()).money.destinations
    assert not loaded["dst-1"].signed
    assert loaded["dst-2"] == record.money.destinations["dst-2"]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("sharer", [1, 2])
def test_a_pivoted_account_keeps_its_stored_record(database: Database, sharer: int) -> None:
    """Coordination pivots onto accounts outside the group being decided: marking them must
    not replace what is stored of them (their new payout account's cooling-off, say). The
    account shares an address with the buyer whose order opens the case (2), or with an
    earlier buyer (1): then only the pivot's second hop, read when the case opens, finds it."""
    policy = _coordination_policy()
    service = DecisionService(database, Policies(policy), clock=lambda: factories.BASE_TIME,
                              max_future_skew=timedelta(days=3650))  # fmt: skip

    def decide(document: dict[str, Any]) -> set[str]:
        (result,) = service.decide_many([(factories.typed(document), "test")])
        assert isinstance(result, Submitted)
        return {reason["code"] for reason in result.decision["reasons"]}

    decide(factories.instrument())
    decide(factories.login("c-9", minutes=-30, ip="60.95.1.50", session_id="s9",
                           device_id="dev-9"))  # fmt: skip
    decide(factories.payout_change("c-9", minutes=-20, session_id="s9", device_id="dev-9"))
    for number in (1, 2, 3):
        ip = "60.95.1.50" if number == sharer else f"60.95.1.{10 + number}"
        decide(factories.order(f"c-{number}", minutes=number, ip=ip, limit_price="2505",
                               session_id=f"s{number}", device_id=f"dev-{number}"))  # fmt: skip
    with database.read() as session:
        accounts = session.execute(select(CaseAccountRow.customer_id, CaseAccountRow.role)).all()
    assert ("c-9", "pivot") in {(a.customer_id, a.role) for a in accounts}
    with database.read() as session:
        detail = session.scalar(
            select(GuardCustomerRow.detail).where(GuardCustomerRow.customer_id == "c-9")
        )
    assert detail is not None
    record = load_record(detail)
    assert record.pivoted_until is not None  # marked by the case
    assert "dst-2" in record.money.destinations  # and still holding what it had
    assert record.money.last_session is not None


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("written", ["::ffff:60.95.1.50", "2400:4050:0:0::1"])
def test_an_address_written_two_ways_is_one_pivot_entry(database: Database, written: str) -> None:
    """The pivot index is keyed by the canonical address: a group must read the entry it is
    about to replace, however the event spelled the address."""
    service = DecisionService(database, Policies(POLICY), clock=lambda: factories.BASE_TIME,
                              max_future_skew=timedelta(days=3650))  # fmt: skip
    canonical = str(ParsedIP.parse(written).address)
    for customer, ip in (("c-1", canonical), ("c-2", written)):
        login = factories.login(customer, ip=ip, session_id=f"s-{customer}")
        (result,) = service.decide_many([(factories.typed(login), "test")])
        assert isinstance(result, Submitted)
    with database.read() as session:
        detail = session.scalar(
            select(GuardKeyRow.detail).where(GuardKeyRow.key == f"ip:{canonical}")
        )
    assert detail is not None
    assert set(orjson.loads(detail)) == {"c-1", "c-2"}


def test_a_later_pivot_mark_is_kept_when_a_case_marks_the_account_again() -> None:
    policy = _coordination_policy()
    state = MemoryState(guard=GuardMemory(policy))
    far = factories.BASE_TIME + timedelta(days=30)
    state.guard.customers["c-9"] = CustomerRecord(pivoted_until=far)
    _buyers(state, policy)
    (case,) = state.guard.cases.values()
    assert case.accounts["c-9"].value == "pivot"
    assert state.guard.customers["c-9"].pivoted_until == far


def test_the_store_refuses_to_replace_an_unread_record_with_more_than_a_pivot_mark(
    database: Database,
) -> None:
    with database.write() as session:
        store = SqlGuardStore(session)
        stored = store.load(POLICY, [factories.typed(factories.login("c-2"))])
        stored.customers["c-2"] = CustomerRecord(pivoted_until=factories.BASE_TIME)
        stored.changes.customers.add("c-2")
        store.save(stored, factories.BASE_TIME)
        memory = store.load(POLICY, [factories.typed(factories.login("c-1"))])
        memory.customers["c-2"] = CustomerRecord()
        memory.customers["c-2"].money.last_session = "s-x"  # not a pivot mark
        memory.changes.customers.add("c-2")
        with pytest.raises(RuntimeError, match="only a pivot mark"):
            store.save(memory, factories.BASE_TIME)


def _loaded_reading(
    database: Database, documents: list[dict[str, Any]], tables: tuple[str, ...]
) -> tuple[GuardMemory, set[str]]:
    """The guard memory a group loads, and which of `tables` its statements read."""
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(str(args[2]))

    with database.write() as session:
        connection = session.connection()
        sa_event.listen(connection, "before_cursor_execute", seen)
        memory = SqlGuardStore(session).load(POLICY, [factories.typed(d) for d in documents])
        sa_event.remove(connection, "before_cursor_execute", seen)
    return memory, {table for table in tables if any(table in s for s in statements)}


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_registered_names_and_refused_markets_are_read_by_the_events_that_use_them(
    database: Database,
) -> None:
    """A payout change checks the holder's name, an order the markets its customer refused;
    a group of neither (most groups: logins) reads neither table."""
    with database.write() as session:
        session.add(RegisteredNameRow(customer_id="c-1", name_kana="ヤマダ タロウ"))
        session.add(ProductRestrictionRow(customer_id="c-1", market="NASDAQ", reason="asked",
                                          created_at=factories.BASE_TIME))  # fmt: skip
    tables = ("registered_names", "product_restrictions")
    login, order = factories.login("c-1"), factories.order("c-1", minutes=1)
    memory, read = _loaded_reading(database, [login], tables)
    assert (read, memory.names, memory.restricted) == (set(), {}, {})
    memory, read = _loaded_reading(database, [login, order], tables)
    assert read == {"product_restrictions"}
    assert (memory.names, memory.restricted) == ({}, {"c-1": frozenset({"NASDAQ"})})
    memory, read = _loaded_reading(database, [factories.payout_change("c-1")], tables)
    assert read == {"registered_names"}
    assert (memory.names, memory.restricted) == ({"c-1": "ヤマダ タロウ"}, {})


# What is learned: only what was let through (a challenge may have been failed)


def _thin_name(state: Impl) -> None:
    """7203 (liquid) and 584P (a low-priced name), with prices, and three ordinary buys of
    7203 so that c-1 has a profile to compare with."""
    state.decide(factories.typed(factories.instrument()))
    thin = factories.instrument(symbol="584P", average_daily_volume=500_000, listed_shares=10**8)
    state.decide(factories.typed(thin))
    for symbol, last in (("7203", "2500"), ("584P", "76")):
        price = {"type": "price", "event_id": f"p-{symbol}", "occurred_at": factories.at(-1),
                 "symbol": symbol, "market": "TSE", "last": last}  # fmt: skip
        state.decide(factories.typed(price))
    for minute in range(3):
        buy = factories.order(minutes=minute, limit_price="2505")
        assert state.decide(factories.typed(buy)).outcome is Outcome.ALLOW


def test_a_challenged_buy_is_not_learned_so_its_resubmission_is_challenged_again(
    impl: Impl,  # noqa: F811
) -> None:
    """The attacker fails the challenge and sends the same buy again: it must not pass as the
    customer's usual trading now (it scored 10, allowed, when the challenge was learned)."""
    _thin_name(impl)
    verdicts = [
        impl.decide(factories.typed(
            factories.order(minutes=10 + n, symbol="584P", limit_price="77", quantity=20_000)
        ))
        for n in range(2)
    ]  # fmt: skip
    first, again = verdicts
    assert first.outcome is Outcome.CHALLENGE
    assert {ReasonCode.ORDER_PROFILE_THIN_SYMBOL, ReasonCode.ORDER_FIRST_SYMBOL} <= _codes(first)
    assert (again.outcome, again.risk_score, _codes(again)) == (
        first.outcome,
        first.risk_score,
        _codes(first),
    )


def test_a_sell_counts_towards_a_liquidation_whatever_its_outcome(impl: Impl) -> None:  # noqa: F811
    """A sell refused (an odd lot, ¥625,000) is still the attacker's try at liquidating."""
    _thin_name(impl)
    sell = factories.order(minutes=5, side="sell", quantity=250, limit_price="2500")
    assert impl.decide(factories.typed(sell)).outcome is Outcome.DENY
    buy = factories.order(minutes=10, symbol="584P", limit_price="77", quantity=100)
    assert ReasonCode.ORDER_PROFILE_LIQUIDATE_THEN_BUY in _codes(impl.decide(factories.typed(buy)))


def test_a_challenged_withdrawal_is_not_learned_so_its_retry_is_challenged_again(
    impl: Impl,  # noqa: F811
) -> None:
    for minute in (1, 2):
        verdict = impl.decide(factories.typed(factories.withdrawal(minutes=minute,
                                                                   amount="5000000")))  # fmt: skip
        assert verdict.outcome is Outcome.CHALLENGE
        assert ReasonCode.WITHDRAWAL_AMOUNT_UNUSUAL in _codes(verdict)
    allowed = impl.decide(factories.typed(factories.withdrawal(minutes=3, amount="900000")))
    assert allowed.outcome is Outcome.ALLOW
    # ... while an amount let through is learned: three times it is usual now.
    usual = impl.decide(factories.typed(factories.withdrawal(minutes=4, amount="2700000")))
    assert usual.outcome is Outcome.ALLOW


# Withdrawals in another currency


def test_a_withdrawal_is_learned_in_yen(impl: Impl) -> None:  # noqa: F811
    """5,000 USD is ¥750,000 (at the rate orders are valued at): ¥2,000,000 afterwards is
    within three times it. Learned as 5,000, ¥2,000,000 would look unusual."""
    dollars = factories.withdrawal(minutes=1, amount="5000", currency="USD")
    assert impl.decide(factories.typed(dollars)).outcome is Outcome.ALLOW
    later = factories.typed(factories.withdrawal(minutes=2, amount="2000000"))
    assert impl.state.signals_for(later).money.largest_withdrawal == 750_000
    assert impl.decide(later).outcome is Outcome.ALLOW


# Payout destinations beyond the cap


def _refused_change(state: Impl, destination: str, minutes: float) -> Verdict:
    """A change of c-1's to the account c-2 registered with a passkey: a likely mule, held."""
    change = factories.payout_change("c-1", minutes=minutes, destination_id=destination)
    verdict = state.decide(factories.typed(change))
    assert ReasonCode.PAYOUT_ACCOUNT_SHARED in _codes(verdict)
    assert verdict.outcome is Outcome.HOLD
    return verdict


def test_a_refused_destination_stays_refused_after_many_payout_changes(impl: Impl) -> None:  # noqa: F811
    impl.decide(factories.typed(factories.payout_change("c-2", approved_with="passkey")))
    _refused_change(impl, "dst-x", 1)
    to_x = factories.withdrawal("c-1", minutes=2, destination_id="dst-x")
    assert ReasonCode.WITHDRAWAL_DESTINATION_REFUSED in _codes(impl.decide(factories.typed(to_x)))
    for number in range(DESTINATION_CAP):  # junk: every one held, none usable
        _refused_change(impl, f"junk-{number}", 3 + number)
    again = factories.withdrawal("c-1", minutes=60, destination_id="dst-x")
    verdict = impl.decide(factories.typed(again))
    assert verdict.outcome is Outcome.HOLD
    assert ReasonCode.WITHDRAWAL_DESTINATION_REFUSED in _codes(verdict)


def test_the_cap_drops_the_oldest_accepted_destination_out_of_its_cooling_off_first() -> None:
    """Not the oldest destination: the oldest usable one. A refused or cooling destination
    goes only when nothing else can, and what it was is kept in `forgotten`."""
    money = CustomerMoney()
    t0 = factories.BASE_TIME
    _register(money, "usable", Outcome.ALLOW, t0 + timedelta(minutes=1), None)
    _register(money, "refused", Outcome.HOLD, t0, None)  # the oldest
    for number in range(DESTINATION_CAP - 2):
        at = t0 + timedelta(minutes=2 + number)
        _register(money, f"cooling-{number}", Outcome.CHALLENGE, at, DAYS_3)
    assert (len(money.destinations), money.forgotten) == (DESTINATION_CAP, None)
    _register(money, "newest", Outcome.CHALLENGE, t0 + timedelta(hours=1), DAYS_3)
    assert "usable" not in money.destinations
    assert {"refused", "newest"} <= set(money.destinations)
    dropped = money.forgotten  # an accepted destination out of its cooling-off: harmless
    assert dropped is not None
    assert (dropped.status, dropped.cooling_until) == (DestinationStatus.ACCEPTED, None)
    # Every one left is refused or cooling off: the next change drops the oldest of those,
    # and the record remembers that money to a destination it does not know may be refused.
    last = t0 + timedelta(hours=2)
    _register(money, "last", Outcome.CHALLENGE, last, DAYS_3)
    assert "refused" not in money.destinations
    assert {"last", "newest"} <= set(money.destinations)
    assert len(money.destinations) == DESTINATION_CAP
    dropped = money.forgotten
    assert dropped is not None
    assert dropped.status is DestinationStatus.REFUSED
    assert money.cooling_until() == last + DAYS_3


def _register(
    money: CustomerMoney,
    destination: str,
    outcome: Outcome,
    at: datetime,
    cooling: timedelta | None,
) -> None:
    change = factories.payout_change(destination_id=destination, occurred_at=at.isoformat())
    typed = factories.typed(change)
    assert isinstance(typed, PayoutChange)
    money.register(typed, outcome, at + cooling if cooling is not None else None)


def test_what_the_cap_dropped_survives_the_store_codec_and_an_old_record_reads_as_it_was() -> None:
    money = CustomerMoney()
    t0 = factories.BASE_TIME
    for number in range(DESTINATION_CAP + 1):
        _register(money, f"dst-{number}", Outcome.HOLD, t0 + timedelta(minutes=number), None)
    record = CustomerRecord(money=money)
    assert load_record(dump_record(record)) == record
    assert load_record(dump_record(CustomerRecord())).money.forgotten is None
    # A record written by the release before this one has no "f": it kept nothing of what it
    # dropped. Suspecting every full one would hold its customer's withdrawals to an unknown
    # (their own earlier) account for good, with no staff path to clear it.
    stored_before = orjson.loads(dump_record(record))
    del stored_before["f"]
    assert load_record(orjson.dumps(stored_before).decode()).money.forgotten is None


# Window edges: SQL keeps the instants memory keeps


def test_a_risky_logins_hours_end_where_they_end_in_memory(impl: Impl) -> None:  # noqa: F811
    """A risky login at 00.900 and a withdrawal 24 h - 0.5 s later (at 00.400): held. Stored
    in whole seconds, the login's hours ended at 00.000, and SQL let the withdrawal through."""
    impl.decide(factories.typed(factories.payout_change(destination_id="dst-2")))
    login_at = factories.BASE_TIME + timedelta(hours=72, milliseconds=900)
    abroad = factories.login(occurred_at=login_at.isoformat(), ip="121.163.55.136",
                             session_id="s-9")  # fmt: skip
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(impl.decide(factories.typed(abroad)))
    edge = login_at + timedelta(hours=24, milliseconds=-500)
    withdrawal = factories.withdrawal(occurred_at=edge.isoformat(), destination_id="dst-2",
                                      session_id="s-8")  # fmt: skip
    verdict = impl.decide(factories.typed(withdrawal))
    assert ReasonCode.WITHDRAWAL_LOGIN_RISKY in _codes(verdict)
    assert verdict.outcome is Outcome.HOLD


def test_a_cooling_off_never_ends_early_after_the_store(impl: Impl) -> None:  # noqa: F811
    changed_at = factories.BASE_TIME + timedelta(milliseconds=900)
    change = factories.payout_change(occurred_at=changed_at.isoformat(), destination_id="dst-2")
    impl.decide(factories.typed(change))
    edge = changed_at + DAYS_3 - timedelta(milliseconds=400)  # 72 h on, at 00.500
    withdrawal = factories.withdrawal(occurred_at=edge.isoformat(), destination_id="dst-2")
    verdict = impl.decide(factories.typed(withdrawal))
    assert ReasonCode.WITHDRAWAL_DESTINATION_COOLING_OFF in _codes(verdict)


def test_every_instant_survives_the_store_codec_to_the_microsecond() -> None:
    at = factories.BASE_TIME + timedelta(seconds=0.9)
    record = CustomerRecord(pivoted_until=at + timedelta(hours=24))
    money = record.money
    money.destinations["dst-2"] = Destination(
        "dst-2", DestinationStatus.ACCEPTED, at, at + DAYS_3 + timedelta(microseconds=1)
    )
    money.forgotten = Destination("", DestinationStatus.ACCEPTED, at, at + DAYS_3)
    money.risky_login_at = money.last_login_at = at + timedelta(microseconds=999_999)
    money.previous_login_at = at - timedelta(days=400, microseconds=1)
    assert load_record(dump_record(record)) == record
    facts = replace(TOYOTA_FACTS, last_at=at)
    assert load_reference(dump_reference(facts)) == facts
    # Whole seconds are written as before (what the release before this one wrote and reads).
    whole = CustomerRecord(pivoted_until=factories.BASE_TIME)
    assert orjson.loads(dump_record(whole))["u"] == int(factories.BASE_TIME.timestamp())


@pytest.mark.parametrize("year", [1999, 2026, 2105, 2241])
def test_a_stored_instant_is_exact_to_the_microsecond_until_2242(year: int) -> None:
    start = datetime(year, 12, 31, 23, 59, 58, tzinfo=UTC)
    for step in range(0, 2_000_000, 7_919):  # a prime stride through two seconds
        at = start + timedelta(microseconds=step)
        record = CustomerRecord(pivoted_until=at)
        assert load_record(dump_record(record)).pivoted_until == at


def _contact_change(minutes: float, session: str) -> Event:
    return factories.typed({
        "type": "contact_change", "event_id": f"cc-{minutes}", "customer_id": "c-1",
        "occurred_at": factories.at(minutes), "session_id": session, "ip": "60.64.0.77",
        "contact": "email", "new_value": "someone@evil.example",
    })  # fmt: skip


def test_an_abandoned_risky_login_does_not_wake_a_dormant_account(impl: Impl) -> None:  # noqa: F811
    year_ago = -400 * 1440
    for day in range(6):  # the customer, calm, long ago
        login = factories.login(minutes=year_ago + day * 1440, session_id=f"own-{day}")
        impl.decide(factories.typed(login))
    phisher = {"ip": "60.64.0.77", "device_id": "d-phisher"}
    attempt = impl.decide(factories.typed(factories.login(minutes=0, session_id="g", **phisher)))
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(attempt)  # then gives up at the code
    later = 13 * 60
    impl.decide(factories.typed(factories.login(minutes=later, session_id="b", **phisher)))
    code = factories.login(minutes=later + 0.2, session_id="b", step="second_factor",
                           factor="sms_otp", **phisher)  # fmt: skip
    impl.decide(factories.typed(code))
    verdict = impl.decide(_contact_change(later + 1, "b"))
    assert ReasonCode.CONTACT_ACCOUNT_DORMANT in _codes(verdict)
    assert verdict.outcome is Outcome.HOLD


def test_a_completed_login_is_the_next_sessions_previous_one(impl: Impl) -> None:  # noqa: F811
    year_ago = -400 * 1440
    impl.decide(factories.typed(factories.login(minutes=year_ago, session_id="old")))
    risky = factories.login(minutes=0, session_id="r", ip="60.64.0.77", device_id="d-new")
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(impl.decide(factories.typed(risky)))
    code = factories.login(minutes=0.2, session_id="r", step="second_factor", factor="totp",
                           ip="60.64.0.77", device_id="d-new")  # fmt: skip
    impl.decide(factories.typed(code))
    impl.decide(factories.typed(factories.login(minutes=60, session_id="next")))
    verdict = impl.decide(_contact_change(61, "next"))
    assert ReasonCode.CONTACT_ACCOUNT_DORMANT not in _codes(verdict)


def test_whether_the_last_login_was_completed_survives_the_store_codec() -> None:
    record = CustomerRecord()
    record.money.login(factories.BASE_TIME, "s-1", 0, 60, completed=False)
    assert load_record(dump_record(record)).money.last_completed is False
    body = orjson.loads(dump_record(record))
    _last, _previous, session = body["l"]  # as the release before reads it
    assert session == "s-1"
    del body["lc"]  # as written before logins were followed to completion
    assert load_record(orjson.dumps(body).decode()).money.last_completed is True
