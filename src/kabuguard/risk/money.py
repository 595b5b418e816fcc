"""Typed facts the payout, withdrawal and contact rules read, fetched by `kabuguard.state.money`.

Holder names are compared outside the core (normalised with jaconv in `kabuguard.enrich.kana`);
the rules see only whether they matched. Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from kabuguard.risk.trading import YEN_PER_UNIT


def decimal_text(value: Decimal) -> str:
    """An amount's one spelling: `2500.0`, `2.5E+3` and `2500` all read `2500`; `0.50` reads
    `0.5`; `-0` reads `0`. Stored events and signed transaction details use it."""
    if not value:
        return "0"
    return format(value.normalize(), "f")


def yen_amount(amount: Decimal, currency: str) -> int | None:
    """An amount in yen at the rates orders are valued at (`YEN_PER_UNIT`), a fraction of a
    yen counting as a whole one; None for a currency with no rate (the rules hold it)."""
    rate = YEN_PER_UNIT.get(currency)
    return None if rate is None else math.ceil(amount * Decimal(str(rate)))


class DestinationStatus(StrEnum):
    """How a payout destination came to be: only an allowed change makes it usable."""

    ACCEPTED = "accepted"  # the change went through (allowed or passed its challenge)
    REFUSED = "refused"  # the change was held or denied: money must not go there


@dataclass(frozen=True, slots=True)
class Destination:
    """A payout destination registered through a `payout_change`."""

    destination_id: str
    status: DestinationStatus
    changed_at: datetime
    cooling_until: datetime | None  # withdrawals to it are held until then
    signed: bool = False  # the change was approved with a passkey (transaction signing)


@dataclass(frozen=True, slots=True)
class MoneySignals:
    """Everything the money and contact rules consult about one event."""

    destination: Destination | None = None  # a withdrawal's destination, if registered here
    # The destinations the customer's record had to drop (too many changes), merged into the
    # worst of them: refused if any was, the latest change, the latest cooling-off. A
    # withdrawal to a destination kabuguard does not know may be going to one of them.
    forgotten: Destination | None = None
    holder_matches: bool | None = None  # None: the customer's registered name is unknown
    account_customers: int = 0  # other customers who registered the same bank account
    largest_withdrawal: int | None = None  # yen; None: no withdrawal seen yet
    risky_login_at: datetime | None = None  # the customer's latest risky login
    risky_login_score: int = 0
    previous_login_at: datetime | None = None  # the successful login before this session's
    # The broker submitted the event with a transaction-signing approval (a passkey).
    signed: bool = False
    # The state looked the customer up (False: no money facts were fetched at all).
    fetched: bool = False


NO_MONEY = MoneySignals()
