"""Consequences of a payout-destination change. Holder-name and mule checks come later."""

from __future__ import annotations

from collections.abc import Iterator

from kabuguard.risk.codes import Capability, Outcome, ReasonCode
from kabuguard.risk.decisions import Restriction
from kabuguard.risk.events import Event, PayoutChange
from kabuguard.risk.policy import Policy
from kabuguard.risk.signals import Signals


def cooling_off(
    event: Event, outcome: Outcome, policy: Policy, signals: Signals
) -> Iterator[Restriction]:
    """A destination change that goes ahead holds withdrawals for the cooling-off period.

    The period runs from when kabuguard learned of the change if that is later than the
    event's own time, so a backdated change cannot start with its cooling-off already spent.
    """
    if not isinstance(event, PayoutChange) or outcome.rank > Outcome.CHALLENGE.rank:
        return
    if policy.payout_cooling_off.total_seconds() <= 0:
        return
    yield Restriction(
        capability=Capability.WITHDRAW,
        until=max(event.occurred_at, signals.received_at or event.occurred_at)
        + policy.payout_cooling_off,
        enforcement=policy.enforcement[Capability.WITHDRAW],
        reason=ReasonCode.PAYOUT_DESTINATION_COOLING_OFF,
    )
