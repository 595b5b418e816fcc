"""The order and payout guard's state in memory: what replay uses and a SQL batch's overlay.

`GuardMemory` hands the rules their `TradingSignals` and `MoneySignals` and, once an event is
decided, records what follows: reference data, the customer's trading and money records, the
symbol's buyers, the pivot index, and, when coordination fires, a case (every account
involved plus the pivot), a proposed or applied buy-halt. Held customer actions become holds.
It notes what changed (`changes`) so a store writes back only that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache

from kabuguard.risk.addresses import is_global
from kabuguard.risk.codes import Capability, Outcome, ReasonCode
from kabuguard.risk.decisions import Verdict
from kabuguard.risk.events import (
    Event,
    Factor,
    Instrument,
    LoginAttempt,
    LoginStep,
    Order,
    PayoutChange,
    Price,
    Side,
    Withdrawal,
)
from kabuguard.risk.guard_policy import HaltMode
from kabuguard.risk.login import AsnClass, LoginSignals
from kabuguard.risk.money import MoneySignals, yen_amount
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules.profile import session_of
from kabuguard.risk.signals import ParsedIP, SymbolHalt
from kabuguard.risk.trading import InstrumentFacts, TradingProfile, TradingSignals, buyer_weight
from kabuguard.state.cases import Case, CaseRole, Hold, hold_for
from kabuguard.state.coordination import PivotIndex, SymbolWindow
from kabuguard.state.money import HOLDER_CAP, CustomerMoney, account_key, holder_matches
from kabuguard.state.trading import (
    Sell,
    learn_order,
    order_value,
    recent_sells,
    reference_from,
    sold_within,
    symbol_key,
)

HOLD_CAP = 10_000  # holds kept in memory (replay has no store; a SQL overlay drains them)
SWEEP_FLOOR = 4096
# A login allowed or challenged starts a session (the broker enforces the challenge): its risk
# is remembered either way, the conservative reading of a login that may be an attacker's.
_SESSION_STARTED = (Outcome.ALLOW, Outcome.CHALLENGE)
_LOGIN_STEPS = (LoginStep.PASSWORD, LoginStep.PASSKEY)


@dataclass
class GuardChanges:
    customers: set[str] = field(default_factory=set)
    references: set[str] = field(default_factory=set)  # symbol keys whose facts changed
    symbols: set[str] = field(default_factory=set)  # symbol keys whose buyer window changed
    pivot_keys: set[str] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)
    cases: list[Case] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)


@dataclass
class CustomerRecord:
    """One customer's guard state, stored as one row."""

    profile: TradingProfile | None = None
    sells: list[Sell] = field(default_factory=list)
    money: CustomerMoney = field(default_factory=CustomerMoney)
    pivoted_until: datetime | None = None


class GuardMemory:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy.guard
        self.session_hours = policy.login.session_hours  # a buyer's session counts this long
        self.reference: dict[str, InstrumentFacts] = {}
        self.customers: dict[str, CustomerRecord] = {}
        self.symbols: dict[str, SymbolWindow] = {}
        self.pivots = PivotIndex()
        self.accounts: dict[str, set[str]] = {}  # bank account → customers who registered it
        self.names: dict[str, str] = {}  # customer → registered holder name (katakana)
        self.restricted: dict[str, frozenset[str]] = {}  # customer → markets they refused
        self.cases: dict[str, Case] = {}
        self.holds: dict[str, Hold] = {}
        self.halts: list[SymbolHalt] = []  # applied by coordination, for the lists to take
        self.changes = GuardChanges()
        # Where a store keeps the pivot index: called with keys to read in before a case
        # pivots on them (replay holds the whole index in memory and needs none).
        self.load_pivots: Callable[[set[str]], None] | None = None
        # The customers whose records a store read for this memory; None where memory holds
        # every record there is (replay). Any other customer can only be marked pivoted.
        self.loaded: frozenset[str] | None = None
        self._sweep_at = SWEEP_FLOOR
        # The login facts last fetched, so `record` weighs the buyer by the same session.
        self._last: tuple[str, LoginSignals | None] = ("", None)
        self._login: LoginSignals | None = None

    # Signals

    def signals(
        self, event: Event, login: LoginSignals | None
    ) -> tuple[TradingSignals, MoneySignals]:
        self._last = (event.event_id, login)
        customer = event.customer_id
        record = self.customers.get(customer) if customer is not None else None
        if isinstance(event, Order):
            return self._trading(event, record), MoneySignals()
        if customer is None:
            return TradingSignals(), MoneySignals()
        return TradingSignals(), self._money(event, record or CustomerRecord())

    def _trading(self, order: Order, record: CustomerRecord | None) -> TradingSignals:
        key = symbol_key(order.market, order.symbol)
        knobs = self.policy
        window = self.symbols.get(key)
        sold, symbols = (
            sold_within(record.sells, order.occurred_at, knobs.orders.liquidate_minutes)
            if record is not None
            else (0, frozenset())
        )
        return TradingSignals(
            instrument=self.reference.get(key),
            profile=record.profile if record is not None else None,
            sold_recently_yen=sold,
            sold_symbols=symbols,
            restricted_markets=self.restricted.get(order.customer_id, frozenset()),
            coordination=(
                window.facts(order.customer_id, order.occurred_at, knobs.coordination)
                if window is not None and order.side is Side.BUY
                else None
            ),
            pivoted_until=record.pivoted_until if record is not None else None,
            fetched=True,
        )

    def _money(self, event: Event, record: CustomerRecord) -> MoneySignals:
        money = record.money
        common = MoneySignals(
            largest_withdrawal=money.largest_withdrawal,
            risky_login_at=money.risky_login_at,
            risky_login_score=money.risky_login_score,
            previous_login_at=money.previous_login_at,
            fetched=True,
        )
        if isinstance(event, Withdrawal):
            destination = money.destinations.get(event.destination_id)
            return replace(common, destination=destination, forgotten=money.forgotten)
        if isinstance(event, PayoutChange):
            others = self.accounts.get(account_key(event), set()) - {event.customer_id}
            registered = self.names.get(event.customer_id)
            return replace(
                common,
                holder_matches=holder_matches(registered, event),
                account_customers=len(others),
                signed=event.approved_with is Factor.PASSKEY,
            )
        return common

    # Recording

    def record(self, event: Event, verdict: Verdict) -> None:
        login = self._last[1] if self._last[0] == event.event_id else None
        self._login = login
        at = int(event.occurred_at.timestamp())
        if isinstance(event, Instrument | Price):
            key = symbol_key(event.market, event.symbol)
            self.reference[key] = reference_from(event, self.reference.get(key))
            self.changes.references.add(key)
            return
        customer = event.customer_id
        if customer is None:
            return
        self._touch(event, customer, login, at)
        self._complete_login(event, customer, verdict)
        match event:
            case LoginAttempt() if (
                event.step in _LOGIN_STEPS and verdict.outcome in _SESSION_STARTED
            ):
                if event.result.value == "success":
                    self._record_login(event, customer, verdict)
            case Order():
                self._record_order(event, customer, verdict, login)
            case PayoutChange():
                self._record_payout(event, customer, verdict)
            case Withdrawal() if verdict.outcome is Outcome.ALLOW:
                # Only an amount let through is learned: a challenged one may be an attacker's
                # who failed the challenge, and must not make the same amount usual.
                yen = yen_amount(event.amount, event.currency)
                if yen is not None:
                    self._record(customer).money.withdrew(yen)
                    self.changes.customers.add(customer)
        found = hold_for(event, verdict, self._cooling_until(customer))
        if found is not None:
            self._hold(found)
        self._sweep(at)

    def _record(self, customer: str) -> CustomerRecord:
        return self.customers.setdefault(customer, CustomerRecord())

    def _record_login(self, event: LoginAttempt, customer: str, verdict: Verdict) -> None:
        risky = self.policy.withdrawals.risky_login_score
        # A login stepped up to a passkey is the customer's, however unusual it looked.
        score = 0 if verdict.stepped_up else verdict.risk_score
        # A passkey login is complete in itself, and one without a session cannot be followed.
        # A calm password step counts too; a risky (sell-only) one only once it is completed:
        # a phisher's password-only attempt on a dormant account is never calm.
        sell_only = any(h.code is ReasonCode.SESSION_LOGIN_RISKY for h in verdict.hits)
        calm = verdict.outcome is Outcome.ALLOW and not sell_only
        completed = event.step is LoginStep.PASSKEY or event.session_id is None or calm
        money = self._record(customer).money
        money.login(event.occurred_at, event.session_id, score, risky, completed=completed)
        self.changes.customers.add(customer)

    def _complete_login(self, event: Event, customer: str, verdict: Verdict) -> None:
        """A second step that succeeded, or any allowed action of the session, completes the
        session's login (brokers accept actions only from signed-in sessions)."""
        if verdict.outcome is not Outcome.ALLOW or event.session_id is None:
            return
        if isinstance(event, LoginAttempt) and (
            event.step is not LoginStep.SECOND_FACTOR or event.result.value != "success"
        ):
            return
        record = self.customers.get(customer)
        if record is not None and record.money.completed(event.session_id):
            self.changes.customers.add(customer)

    def _record_order(
        self, order: Order, customer: str, verdict: Verdict, login: LoginSignals | None
    ) -> None:
        key = symbol_key(order.market, order.symbol)
        record = self._record(customer)
        at = int(order.occurred_at.timestamp())
        if order.side is Side.BUY:
            knobs = self.policy.coordination
            session = session_of(order, login.session if login else None, self.session_hours)
            score = session.risk_score if session is not None else None
            weight = buyer_weight(score, knobs.risky_session_score, knobs.calm_weight)
            if any(h.code is ReasonCode.ORDER_PRICE_FAR_ABOVE_LAST for h in verdict.hits):
                weight = 1.0  # as the rule weighs it (rules/coordination.weight_of)
            window = self.symbols.setdefault(key, SymbolWindow())
            window.add(customer, at, weight, tuple(pivot_keys(order, login)))
            self.changes.symbols.add(key)
            if any(h.code is ReasonCode.ORDER_COORDINATION_SYMBOL for h in verdict.hits):
                self._coordinated(order, window, weight)
        instrument = self.reference.get(key)
        # The profile learns only an order let through: a challenged one may be an attacker's
        # who failed the challenge, and must not make their resubmission look usual.
        if verdict.outcome is Outcome.ALLOW:
            record.profile = learn_order(record.profile, order, instrument, self.policy.orders)
        # A sell counts towards liquidate-then-buy whatever its outcome: one the attacker
        # tried is evidence of a liquidation all the same.
        if order.side is Side.SELL:
            sells = recent_sells(record.sells, at)
            record.sells = [*sells, Sell(at, order_value(order, instrument), key)]
        self.changes.customers.add(customer)

    def _record_payout(self, change: PayoutChange, customer: str, verdict: Verdict) -> None:
        cooling = [
            r.until
            for r in verdict.restrictions
            if r.capability is Capability.WITHDRAW
            and r.reason is ReasonCode.PAYOUT_DESTINATION_COOLING_OFF
        ]
        record = self._record(customer)
        record.money.register(change, verdict.outcome, max(cooling, default=None))
        self.changes.customers.add(customer)
        # Only a change in the customer's own name, or one signed and allowed, registers them
        # as a holder: anybody naming someone else's account must not make it a "mule".
        own = holder_matches(self.names.get(customer), change) is True
        if not own and verdict.outcome is not Outcome.ALLOW:
            return
        holders = self.accounts.setdefault(account_key(change), set())
        if customer not in holders and len(holders) < HOLDER_CAP:
            holders.add(customer)
            self.changes.accounts.add(account_key(change))

    # Coordination: the case, the halt and the pivot

    def _coordinated(self, order: Order, window: SymbolWindow, weight: float) -> None:
        at = int(order.occurred_at.timestamp())
        knobs = self.policy.coordination
        opened = window.alert_opened
        if opened is not None and at - opened < knobs.alert_hours * 3600 and window.case_id:
            if weight >= 1.0:
                # A SQL batch has the window but not the case: a stub carries the new
                # buyer to the stored case (its own row already exists).
                case = self.cases.setdefault(
                    window.case_id,
                    Case(window.case_id, order.market, order.symbol, order.occurred_at,
                         order.event_id, knobs.halt),
                )  # fmt: skip
                case.join(order.customer_id, CaseRole.BUYER)
                self.changes.cases.append(case)
            return
        involved = window.involved(at, knobs.window_minutes)
        case = Case.open(order, knobs.halt, involved)
        keys = window.risky_keys(at, knobs.window_minutes) | set(pivot_keys(order, self._login))
        until = order.occurred_at + timedelta(hours=knobs.pivot_hours)
        if self.load_pivots is not None:
            self.load_pivots(keys - set(self.pivots.touched))
        for other in sorted(self.pivots.pivot(keys, at, knobs.pivot_hours) - set(case.accounts)):
            case.join(other, CaseRole.PIVOT)
            record = self._record(other)
            record.pivoted_until = max(until, record.pivoted_until or until)
            self.changes.customers.add(other)
        window.alert_opened, window.case_id = at, case.case_id
        self.cases[case.case_id] = case
        self.changes.cases.append(case)
        if knobs.halt is HaltMode.APPLY:
            halt_until = order.occurred_at + timedelta(hours=knobs.halt_hours)
            halt = SymbolHalt(
                order.symbol, order.market, f"coordination case {case.case_id}", halt_until
            )
            self.halts.append(halt)

    def _touch(self, event: Event, customer: str, login: LoginSignals | None, at: int) -> None:
        keys = pivot_keys(event, login)
        self.changes.pivot_keys.update(self.pivots.touch(customer, keys, at))

    def _cooling_until(self, customer: str) -> datetime | None:
        record = self.customers.get(customer)
        return record.money.cooling_until() if record is not None else None

    def _hold(self, found: Hold) -> None:
        self.holds[found.event_id] = found
        self.changes.holds.append(found)
        if len(self.holds) > HOLD_CAP:
            del self.holds[next(iter(self.holds))]

    def _sweep(self, at: int) -> None:
        """Drop what has expired; amortised: only once the tables have doubled."""
        if self._swept_size() < self._sweep_at:
            return
        self.pivots.sweep(at)
        for window in self.symbols.values():
            window.prune(at)
        # A case takes new buyers only while its alert lasts; after that only its row matters
        # (once saved: an event out of order could still join one this batch opened).
        alert_ends = at - self.policy.coordination.alert_hours * 3600
        unsaved = {case.case_id for case in self.changes.cases}
        self.cases = {
            key: case
            for key, case in self.cases.items()
            if case.opened_at.timestamp() > alert_ends or key in unsaved
        }
        self._sweep_at = max(SWEEP_FLOOR, 2 * self._swept_size())

    def _swept_size(self) -> int:
        return len(self.pivots.touched) + len(self.customers) + len(self.cases)

    def forget_changes(self) -> None:
        """Nobody will save them (replay): drop the record of what changed."""
        self.changes = GuardChanges()

    def take_halts(self) -> list[SymbolHalt]:
        """Halts applied by coordination since the last call, for the lists to take."""
        halts, self.halts = self.halts, []
        return halts

    # What staff and customers set

    def restrict_markets(self, customer: str, markets: frozenset[str]) -> None:
        self.restricted[customer] = markets

    def register_name(self, customer: str, name: str) -> None:
        self.names[customer] = name


def pivot_keys(event: Event, login: LoginSignals | None) -> list[str]:
    """What ties accounts to one actor (DET-3): the IP, the device, and the /24 of a hosting
    or VPN network (a home or mobile /24 is shared by too many strangers)."""
    address = ParsedIP.parse(event.ip).address
    network = login.network if login is not None else None
    # Private, shared (CGNAT) and reserved addresses, and mobile carriers' exits, are shared
    # by strangers: pivoting on them would hold the buys of people who merely shared a NAT.
    shared = network is not None and network.asn_class is AsnClass.MOBILE
    keys = [f"ip:{address}"] if address is not None and is_global(address) and not shared else []
    if event.device_id:
        keys.append(f"dev:{event.device_id[:200]}")
    if network is not None and network.anonymising and network.prefix:
        keys.append(f"net:{network.prefix}")
    return keys


def default_guard() -> GuardMemory:
    """A guard with the built-in policy's knobs (replay and the SQL batch pass the live one)."""
    return GuardMemory(builtin_policy())


@cache
def builtin_policy() -> Policy:
    """The built-in policy, read once (for a guard given no policy)."""
    return Policy.default()
