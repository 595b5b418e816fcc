"""The channel Protocol, the message it sends, and the package's errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from sqlalchemy.orm import Session

from kabuguard.notifications.kinds import OPTIONAL_KINDS, ChannelKind, Locale, NoticeKind


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One rendered message for one recipient on one channel; identical on every re-send."""

    idempotency_key: str
    channel: ChannelKind
    customer_id: str
    recipient: str  # e-mail address, E.164 phone number, or the customer id (push, inbox)
    kind: NoticeKind
    locale: Locale
    subject: str
    text: str
    html: str | None
    created_at: datetime
    occurred_at: datetime


class Channel(Protocol):
    def send(self, message: OutboundMessage) -> None:
        """Deliver or raise TransientFailure / PermanentFailure; never anything else on purpose."""

    def close(self) -> None:
        """Release connections; the channel may be used again afterwards."""


class Turn(Protocol):
    """What a staged channel tells the dispatcher while it sends one message."""

    def meanwhile(self) -> None:
        """The channel has written to the receiver and now waits for its answer: the
        dispatcher may do a piece of its own work (record an outcome, render a message)."""

    def handover(self) -> None:
        """From the next write on the receiver may accept the message: the dispatcher first
        records the previous message's outcome (it raises if it cannot; then do not write)."""


@runtime_checkable
class StagedChannel(Channel, Protocol):
    """A channel that talks to its receiver in steps (SMTP: MAIL, RCPT, DATA, content), so the
    dispatcher's own work fits into the waits. A plain Channel is handed over before `send`."""

    def send_staged(self, message: OutboundMessage, turn: Turn) -> None:
        """`send`, calling `turn.meanwhile()` after each write and `turn.handover()` right
        before the one after which the receiver can accept the message."""


@runtime_checkable
class LocalChannel(Channel, Protocol):
    """A channel whose receiver is kabuguard's own database (the in-app inbox). The dispatcher
    delivers a whole batch inside the transaction that records it delivered: delivery and
    record are one atomic step, so such a message is delivered exactly once, and a batch costs
    one transaction instead of two per message."""

    def deliver_in(self, session: Session, messages: Sequence[OutboundMessage]) -> None:
        """Store `messages` in the caller's transaction (a repeat of a stored one is a no-op)."""


class DeliveryFailure(Exception):
    """A message was not delivered; `reason` is kept on the outbox row."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:500]


class TransientFailure(DeliveryFailure):
    """Worth retrying later: the server was unreachable, busy or said 4xx."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentFailure(DeliveryFailure):
    """Retrying cannot help (an invalid address, a 5xx for the recipient): dead-letter it now."""


class NotificationError(Exception):
    """Base of the package's errors for callers (API, CLI)."""


class InvalidContact(NotificationError, ValueError):
    """A contact value that cannot be used; a ValueError so pydantic names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SecurityNoticeRequired(NotificationError, ValueError):
    def __init__(self, kinds: list[NoticeKind]) -> None:
        names = ", ".join(kind.value for kind in kinds)
        optional = ", ".join(sorted(kind.value for kind in OPTIONAL_KINDS))
        super().__init__(
            f"security notices cannot be turned off: {names}; only optional notices can "
            f"({optional})"
        )
        self.kinds = kinds


class OutboxRowNotFound(NotificationError):
    def __init__(self, row_id: int) -> None:
        super().__init__(f"no outbox message with id {row_id}")
        self.row_id = row_id


class NotDeadLettered(NotificationError):
    def __init__(self, row_id: int, status: str) -> None:
        super().__init__(f"outbox message {row_id} is {status}; only dead messages are retried")
        self.row_id = row_id
