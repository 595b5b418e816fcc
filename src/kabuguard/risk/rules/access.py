"""Rules on who may act at all: customer locks, capability restrictions, blocked networks."""

from __future__ import annotations

from collections.abc import Iterator

from kabuguard.risk.actions import action_of, capability_of
from kabuguard.risk.codes import RESTRICTION_REASON, Outcome, ReasonCode
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import CustomerUnlock, Event
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import hit
from kabuguard.risk.signals import Signals


def customer_locked(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """A locked customer can neither log in nor move money, trade or change settings."""
    if signals.lock is not None and action_of(event) is not None:
        yield hit(ReasonCode.CUSTOMER_LOCK_ACTIVE, policy, Outcome.DENY)


def lock_not_own(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """A customer's unlock meets a lock set by staff, the broker or the system: refused, and
    the lock stays (lifting it takes two operators, AUTH-10)."""
    if (
        isinstance(event, CustomerUnlock)
        and signals.lock is not None
        and signals.lock.stands_against(event.initiated_by.value)
    ):
        yield hit(ReasonCode.CUSTOMER_LOCK_NOT_OWN, policy, Outcome.DENY)


def restricted_capability(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """An active restriction meets the attempt with the restriction's own enforcement."""
    capability = capability_of(event)
    if capability is None:
        return
    for restriction in signals.restrictions:
        if restriction.capability is capability and restriction.until > event.occurred_at:
            yield hit(
                RESTRICTION_REASON[capability],
                policy,
                restriction.enforcement,
                capability=capability.value,
                until=restriction.until,
            )


def blocked_network(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """Customer actions from a blocked IP or network are refused."""
    if signals.blocked_network is not None and action_of(event) is not None:
        yield hit(
            ReasonCode.NETWORK_IP_BLOCKED,
            policy,
            Outcome.DENY,
            network=signals.blocked_network.network,
        )


def unparseable_ip(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """An IP that does not parse is scored as an unknown source, never an error."""
    if signals.ip.unparseable:
        yield hit(ReasonCode.NETWORK_IP_UNPARSEABLE, policy)
