"""The in-app inbox: messages stored for the security centre, once per idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from kabuguard.db import Database
from kabuguard.notifications.interfaces import OutboundMessage, TransientFailure
from kabuguard.notifications.models import InboxRow

_INSERT = {
    "postgresql": pg_insert(InboxRow).on_conflict_do_nothing(index_elements=["idempotency_key"]),
    "sqlite": sqlite_insert(InboxRow).on_conflict_do_nothing(index_elements=["idempotency_key"]),
}


class InboxChannel:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._database = database
        self._clock = clock

    def send(self, message: OutboundMessage) -> None:
        row = {
            "idempotency_key": message.idempotency_key,
            "customer_id": message.customer_id,
            "kind": message.kind.value,
            "locale": message.locale.value,
            "subject": message.subject[:300],
            "body": message.text,
            "occurred_at": message.occurred_at,
            "created_at": self._clock(),
        }
        try:
            with self._database.write() as session:
                connection = session.connection()
                connection.execute(_INSERT[connection.dialect.name], row)
        except SQLAlchemyError as error:
            raise TransientFailure(f"inbox unavailable: {type(error).__name__}") from None

    def close(self) -> None:
        """Nothing to release: the database belongs to the caller."""
