"""Contact changes on dormant accounts (2025: the attacker rewrites a dormant account's e-mail).

Every change is notified to the old channel by the notifications package (ACCT-3, NOTIF-3);
here a change on an account with no login for `dormant_months` is held until the customer
confirms it through the old channel (a staff release of the hold, `kabuguard holds`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from kabuguard.risk.codes import Outcome, ReasonCode
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import ContactChange, Event
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import hit
from kabuguard.risk.signals import Signals

DAYS_PER_MONTH = 30.4


def dormant(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    previous = signals.money.previous_login_at
    if not isinstance(event, ContactChange) or previous is None:
        return
    months = policy.guard.contacts.dormant_months
    if event.occurred_at - previous >= timedelta(days=months * DAYS_PER_MONTH):
        yield hit(ReasonCode.CONTACT_ACCOUNT_DORMANT, policy, Outcome.HOLD, months=months)
