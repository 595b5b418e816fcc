"""Cases and holds as the state layer keeps them (the `cases` package serves them to staff).

A case links every account involved in a coordinated buy of one symbol: the buyers, and the
accounts their IPs, networks and devices touched (the pivot, DET-3). A hold is a customer
action parked by a `hold` decision: it waits until its timer (a cooling-off) or staff release
or reject it, and is stored in the decision's own transaction, so it is never lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from kabuguard.risk.actions import action_of
from kabuguard.risk.codes import Action, Outcome, ReasonCode
from kabuguard.risk.decisions import Verdict
from kabuguard.risk.events import Event, Order
from kabuguard.risk.guard_policy import HaltMode

# Reasons whose hold ends by itself when the cooling-off ends.
_TIMED = (ReasonCode.WITHDRAWAL_DESTINATION_COOLING_OFF, ReasonCode.RESTRICTION_WITHDRAW_ACTIVE)


class CaseRole(StrEnum):
    BUYER = "buyer"
    PIVOT = "pivot"


class HoldStatus(StrEnum):
    PENDING = "pending"
    RELEASED = "released"
    REJECTED = "rejected"


@dataclass
class Case:
    case_id: str
    market: str
    symbol: str
    opened_at: datetime
    event_id: str  # the order that fired the alert
    halt: HaltMode
    accounts: dict[str, CaseRole] = field(default_factory=dict)

    @classmethod
    def open(cls, order: Order, halt: HaltMode, buyers: list[tuple[str, float]]) -> Case:
        stamp = order.occurred_at.strftime("%Y%m%d%H%M%S")
        case = cls(f"case-{order.market}-{order.symbol}-{stamp}", order.market, order.symbol,
                   order.occurred_at, order.event_id, halt)  # fmt: skip
        for customer, _ in buyers:
            case.join(customer, CaseRole.BUYER)
        case.join(order.customer_id, CaseRole.BUYER)
        return case

    def join(self, customer: str, role: CaseRole) -> None:
        if self.accounts.get(customer) is not CaseRole.BUYER:
            self.accounts[customer] = role


@dataclass(frozen=True, slots=True)
class Hold:
    event_id: str
    customer_id: str
    action: Action
    held_at: datetime
    reasons: tuple[str, ...]
    release_at: datetime | None  # the timer; None: staff decide
    subject: str | None = None  # what the hold parks: an order id, a destination id


def hold_for(event: Event, verdict: Verdict, cooling_until: datetime | None) -> Hold | None:
    """The hold a decision puts an action in, if it holds one; a hold for nothing but a
    cooling-off ends with it (`cooling_until`), any other waits for staff."""
    action = action_of(event)
    if verdict.outcome is not Outcome.HOLD or action is None or action is Action.LOGIN:
        return None
    assert event.customer_id is not None
    codes = tuple(hit.code.value for hit in verdict.hits if hit.outcome is Outcome.HOLD)
    timed_only = bool(codes) and all(code in _TIMED for code in codes)
    return Hold(
        event_id=event.event_id,
        customer_id=event.customer_id,
        action=action,
        held_at=event.occurred_at,
        reasons=codes,
        release_at=cooling_until if timed_only else None,
        subject=_subject(event),
    )


def _subject(event: Event) -> str | None:
    for name in ("order_id", "withdrawal_id", "destination_id"):
        value = getattr(event, name, None)
        if isinstance(value, str):
            return value
    return None
