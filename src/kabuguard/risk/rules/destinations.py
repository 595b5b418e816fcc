"""Payout-destination changes: a phishing-resistant approval, the holder's name, mule accounts.

In 2020 the attacker changed the destination on the web to an account opened with forged ID
and cashed out within hours (domain §1.2). A change therefore always needs a passkey (or a
transaction-signing approval, which is one); a holder name that differs from the customer's
registered name, or a bank account that other customers registered too, holds it for review.
The cooling-off that follows an accepted change is imposed by `payout.cooling_off`.
"""

from __future__ import annotations

from collections.abc import Iterator

from kabuguard.risk.codes import Outcome, ReasonCode
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import Event, PayoutChange
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import hit
from kabuguard.risk.signals import Signals


def approval(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    money = signals.money
    if isinstance(event, PayoutChange) and money.fetched and not money.signed:
        yield hit(ReasonCode.PAYOUT_FACTOR_REQUIRED, policy, Outcome.CHALLENGE)


def holder(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    if isinstance(event, PayoutChange) and signals.money.holder_matches is False:
        yield hit(ReasonCode.PAYOUT_HOLDER_MISMATCH, policy, Outcome.HOLD)


def mule(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    others = signals.money.account_customers
    needed = policy.guard.withdrawals.mule_customers
    if isinstance(event, PayoutChange) and others and others + 1 >= needed:
        yield hit(ReasonCode.PAYOUT_ACCOUNT_SHARED, policy, Outcome.HOLD, customers=others)
