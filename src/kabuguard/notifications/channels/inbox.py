"""The in-app inbox: messages stored for the security centre, once per idempotency key."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from kabuguard.db import Database
from kabuguard.hotsql import insert_many
from kabuguard.notifications.interfaces import OutboundMessage, TransientFailure
from kabuguard.notifications.models import InboxRow


class InboxChannel:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._database = database
        self._clock = clock

    def send(self, message: OutboundMessage) -> None:
        try:
            with self._database.write() as session:
                self.deliver_in(session, [message])
        except SQLAlchemyError as error:
            raise TransientFailure(f"inbox unavailable: {type(error).__name__}") from None

    def deliver_in(self, session: Session, messages: Sequence[OutboundMessage]) -> None:
        """The dispatcher's way in (a `LocalChannel`): in its transaction, one executemany."""
        now = self._clock()
        rows = [_row(message, now) for message in messages]
        insert_many(session.connection(), InboxRow, rows, skip_existing=("idempotency_key",))

    def close(self) -> None:
        """Nothing to release: the database belongs to the caller."""


def _row(message: OutboundMessage, now: datetime) -> dict[str, Any]:
    return {
        "idempotency_key": message.idempotency_key,
        "customer_id": message.customer_id,
        "kind": message.kind.value,
        "locale": message.locale.value,
        "subject": message.subject[:300],
        "body": message.text,
        "occurred_at": message.occurred_at,
        "created_at": now,
    }
