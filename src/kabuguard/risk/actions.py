"""Which action and which capability each event exercises."""

from __future__ import annotations

from kabuguard.risk.codes import Action, Capability
from kabuguard.risk.events import (
    ContactChange,
    CredentialChange,
    Event,
    LoginAttempt,
    Order,
    PayoutChange,
    Side,
    Withdrawal,
)


def action_of(event: Event) -> Action | None:
    """The customer action an event asks for, or None for reports and reference data."""
    match event:
        case LoginAttempt():
            return Action.LOGIN
        case Order():
            return Action.ORDER
        case Withdrawal():
            return Action.WITHDRAWAL
        case PayoutChange():
            return Action.PAYOUT_CHANGE
        case ContactChange():
            return Action.CONTACT_CHANGE
        case CredentialChange():
            return Action.CREDENTIAL_CHANGE
        case _:
            return None


def capability_of(event: Event) -> Capability | None:
    """The capability a restriction would have to leave in place for this event to proceed."""
    match event:
        case LoginAttempt():
            return Capability.LOGIN
        case Order(side=Side.BUY):
            return Capability.BUY
        case Order():
            return Capability.SELL
        case Withdrawal():
            return Capability.WITHDRAW
        case PayoutChange():
            return Capability.CHANGE_PAYOUT
        case ContactChange():
            return Capability.CHANGE_CONTACT
        case _:
            return None
