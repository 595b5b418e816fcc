"""Payout, withdrawal and contact state: per customer, and per bank account (mule detection).

Per customer (one compact record): registered destinations (at most `DESTINATION_CAP`), the
largest withdrawal, the latest risky login and the last two successful logins. Per bank
account: the customers who registered it (at most `HOLDER_CAP`). Registered names come from
the customer import (`kabuguard reference customers`), normalised with jaconv.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from kabuguard.enrich.kana import same_holder
from kabuguard.risk.codes import Outcome
from kabuguard.risk.events import Factor, PayoutChange
from kabuguard.risk.money import Destination, DestinationStatus

DESTINATION_CAP = 8
HOLDER_CAP = 16


def account_key(change: PayoutChange) -> str:
    return ":".join(
        (
            "acct",
            change.bank_code,
            change.branch_code,
            change.account_type.value,
            change.account_number,
        )
    )


@dataclass
class CustomerMoney:
    """What the money rules remember about one customer."""

    destinations: dict[str, Destination] = field(default_factory=dict)
    largest_withdrawal: int | None = None
    risky_login_at: datetime | None = None
    risky_login_score: int = 0
    last_login_at: datetime | None = None
    previous_login_at: datetime | None = None
    last_session: str | None = None

    def login(self, at: datetime, session: str | None, score: int, risky_at: int) -> None:
        if session is None or session != self.last_session:
            self.previous_login_at = self.last_login_at
        self.last_login_at = at
        self.last_session = session
        if score >= risky_at:
            self.risky_login_at, self.risky_login_score = at, score

    def register(
        self, change: PayoutChange, outcome: Outcome, cooling_until: datetime | None
    ) -> None:
        accepted = outcome.rank <= Outcome.CHALLENGE.rank
        status = DestinationStatus.ACCEPTED if accepted else DestinationStatus.REFUSED
        self.destinations[change.destination_id] = Destination(
            change.destination_id,
            status,
            change.occurred_at,
            cooling_until if accepted else None,
            signed=change.approved_with is Factor.PASSKEY,
        )
        if len(self.destinations) > DESTINATION_CAP:
            oldest = min(self.destinations.values(), key=lambda d: d.changed_at)
            del self.destinations[oldest.destination_id]

    def withdrew(self, amount: int) -> None:
        self.largest_withdrawal = max(self.largest_withdrawal or 0, amount)

    def release(self, destination_id: str) -> None:
        """Staff released a held change: the destination becomes usable (no cooling-off)."""
        found = self.destinations.get(destination_id)
        if found is not None:
            self.destinations[destination_id] = replace(
                found, status=DestinationStatus.ACCEPTED, cooling_until=None
            )


def holder_matches(registered: str | None, change: PayoutChange) -> bool | None:
    return None if registered is None else same_holder(registered, change.holder_name_kana)
