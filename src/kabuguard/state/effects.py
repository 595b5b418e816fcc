"""What a decided event changes in state, worked out once for every implementation."""

from __future__ import annotations

from dataclasses import dataclass

from kabuguard.risk.decisions import Restriction, Verdict
from kabuguard.risk.events import (
    CustomerLock,
    CustomerUnlock,
    Event,
    Instrument,
    Order,
    Price,
    Side,
)
from kabuguard.risk.signals import CustomerLockState


@dataclass(frozen=True, slots=True)
class Effects:
    customer_id: str | None
    lock: CustomerLockState | None = None
    unlock: bool = False
    restrictions: tuple[Restriction, ...] = ()
    reference: Instrument | Price | None = None


def effects_of(event: Event, verdict: Verdict, *, held: CustomerLockState | None) -> Effects:
    """`held`: the customer's lock before the event, which a lower initiator cannot change."""
    match event:
        case CustomerLock() | CustomerUnlock() if held is not None and held.stands_against(
            event.initiated_by.value
        ):
            return Effects(event.customer_id, restrictions=verdict.restrictions)
        case CustomerLock():
            lock = CustomerLockState(event.occurred_at, event.initiated_by.value, event.reason)
            return Effects(event.customer_id, lock=lock, restrictions=verdict.restrictions)
        case CustomerUnlock():
            return Effects(event.customer_id, unlock=True, restrictions=verdict.restrictions)
        case Instrument() | Price():
            return Effects(None, reference=event)
        case _:
            return Effects(event.customer_id, restrictions=verdict.restrictions)


def wants_halt_check(event: Event) -> bool:
    return isinstance(event, Order) and event.side is Side.BUY
