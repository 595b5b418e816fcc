"""Withdrawals: to a destination not yet trusted, after a risky login, or of an unusual amount.

A held withdrawal is parked, never lost: it waits in the hold queue until its timer or staff
release or reject it (`kabuguard holds`).

A destination kabuguard does not know is the account the customer had before any change it
saw, unless the customer's record had to drop destinations (too many changes): then it may be
one of them, and is judged as the worst of them (`MoneySignals.forgotten`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from kabuguard.risk.codes import Outcome, ReasonCode
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import Event, Withdrawal
from kabuguard.risk.money import Destination, DestinationStatus, MoneySignals, yen_amount
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import hit
from kabuguard.risk.rules.profile import live_session
from kabuguard.risk.signals import Signals


def known_or_forgotten(money: MoneySignals) -> Destination | None:
    """The withdrawal's destination as kabuguard registered it; for one it does not know, the
    destinations the record dropped, merged (None: none was dropped)."""
    return money.destination if money.destination is not None else money.forgotten


def destination(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    found = known_or_forgotten(signals.money)
    if not isinstance(event, Withdrawal) or found is None:
        return
    if found.status is DestinationStatus.REFUSED:
        yield hit(ReasonCode.WITHDRAWAL_DESTINATION_REFUSED, policy, Outcome.HOLD)
    elif found.cooling_until is not None and found.cooling_until > event.occurred_at:
        yield hit(
            ReasonCode.WITHDRAWAL_DESTINATION_COOLING_OFF,
            policy,
            Outcome.HOLD,
            until=found.cooling_until,
        )


def risky_login(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """In a risky session, or within hours of a risky login, to a destination registered
    lately: hold (the 2020 cash-out). Money going to the account the customer has long paid
    out to is not the attacker's, so it is not held for the login alone; nor is money going
    to an account whose registration the customer signed with a passkey (transaction signing
    shows the account, and neither a relay nor a password thief can sign)."""
    if not isinstance(event, Withdrawal):
        return
    knobs = policy.guard.withdrawals
    found = known_or_forgotten(signals.money)
    recent = timedelta(days=knobs.new_destination_days)
    if found is None or found.signed or event.occurred_at - found.changed_at > recent:
        return
    session = live_session(event, signals, policy)
    money = signals.money
    window = timedelta(hours=knobs.risky_login_hours)
    score = session.risk_score if session is not None and not session.stepped_up else 0
    if money.risky_login_at is not None and event.occurred_at - money.risky_login_at <= window:
        score = max(score, money.risky_login_score)
    if score >= knobs.risky_login_score:
        yield hit(
            ReasonCode.WITHDRAWAL_LOGIN_RISKY,
            policy,
            Outcome.HOLD,
            score=score,
            hours=knobs.risky_login_hours,
        )


def unusual_amount(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    if not isinstance(event, Withdrawal):
        return
    knobs = policy.guard.withdrawals
    largest = signals.money.largest_withdrawal or 0  # yen
    amount = yen_amount(event.amount, event.currency)
    if amount is None:
        # No rate: the amount cannot be compared with anything, so a person looks at it.
        yield hit(
            ReasonCode.WITHDRAWAL_AMOUNT_UNUSUAL,
            policy,
            Outcome.HOLD,
            amount=f"? ({event.currency} {event.amount:,})",
            largest=f"{largest:,}",
        )
    elif amount > max(largest * knobs.unusual_multiple, knobs.unusual_floor_yen):
        yield hit(
            ReasonCode.WITHDRAWAL_AMOUNT_UNUSUAL,
            policy,
            knobs.unusual_outcome,
            amount=f"{amount:,}",
            largest=f"{largest:,}",
        )
