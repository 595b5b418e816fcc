"""Payout, withdrawal and contact state: per customer, and per bank account (mule detection).

Per customer (one compact record): registered destinations (at most `DESTINATION_CAP`; what
had to be dropped is merged into one, `forgotten`), the largest withdrawal in yen, the latest
risky login and the last two successful logins. Per bank account: the customers who
registered it (at most `HOLDER_CAP`). Registered names come from the customer import
(`kabuguard reference customers`), normalised with jaconv.
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
    # What `register` dropped to stay within the cap, merged (see `MoneySignals.forgotten`).
    forgotten: Destination | None = None
    largest_withdrawal: int | None = None  # yen
    risky_login_at: datetime | None = None
    risky_login_score: int = 0
    last_login_at: datetime | None = None
    previous_login_at: datetime | None = None
    last_session: str | None = None
    # Whether the last login was shown complete (its second step, or an allowed action of its
    # session). One never completed, a phisher giving up at the code, is nobody's "previous
    # login": it must not make a dormant account look active.
    last_completed: bool = True

    def login(
        self, at: datetime, session: str | None, score: int, risky_at: int, *, completed: bool
    ) -> None:
        if session is None or session != self.last_session:
            if self.last_completed:
                self.previous_login_at = self.last_login_at
            self.last_completed = completed
        else:
            self.last_completed = self.last_completed or completed
        self.last_login_at = at
        self.last_session = session
        if score >= risky_at:
            self.risky_login_at, self.risky_login_score = at, score

    def completed(self, session: str) -> bool:
        """The login of `session` was completed; whether that changed anything."""
        if session != self.last_session or self.last_completed:
            return False
        self.last_completed = True
        return True

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
            dropped = self.destinations.pop(self._evictable(change).destination_id)
            self.forgotten = merged(self.forgotten, dropped)

    def _evictable(self, change: PayoutChange) -> Destination:
        """The oldest accepted destination whose cooling-off is over; only when there is none
        (a burst of refused or cooling changes: an attack, not a customer), the oldest other
        one. Never the one just registered. What goes is remembered in `forgotten`."""
        others = [
            d for d in self.destinations.values() if d.destination_id != change.destination_id
        ]
        settled = [d for d in others if usable(d, change.occurred_at)]
        return min(settled or others, key=lambda d: d.changed_at)

    def withdrew(self, yen: int) -> None:
        self.largest_withdrawal = max(self.largest_withdrawal or 0, yen)

    def cooling_until(self) -> datetime | None:
        """When the last cooling-off of a destination, kept or dropped, ends."""
        kept = [*self.destinations.values(), *([self.forgotten] if self.forgotten else [])]
        return max((d.cooling_until for d in kept if d.cooling_until), default=None)

    def release(self, destination_id: str) -> None:
        """Staff released a held change: the destination becomes usable (no cooling-off)."""
        found = self.destinations.get(destination_id)
        if found is not None:
            self.destinations[destination_id] = replace(
                found, status=DestinationStatus.ACCEPTED, cooling_until=None
            )


def usable(destination: Destination, at: datetime) -> bool:
    """Accepted and out of its cooling-off at `at`."""
    cooling = destination.cooling_until
    return destination.status is DestinationStatus.ACCEPTED and (cooling is None or cooling <= at)


def merged(before: Destination | None, dropped: Destination) -> Destination:
    """`forgotten` after dropping `dropped`: the worst of both. Refused if either was; the
    later change and cooling-off; signed only if both were."""
    if before is None:
        return replace(dropped, destination_id="")
    refused = DestinationStatus.REFUSED in (before.status, dropped.status)
    coolings = [d.cooling_until for d in (before, dropped) if d.cooling_until is not None]
    return Destination(
        "",
        DestinationStatus.REFUSED if refused else DestinationStatus.ACCEPTED,
        max(before.changed_at, dropped.changed_at),
        max(coolings, default=None),
        signed=before.signed and dropped.signed,
    )


def holder_matches(registered: str | None, change: PayoutChange) -> bool | None:
    return None if registered is None else same_holder(registered, change.holder_name_kana)
