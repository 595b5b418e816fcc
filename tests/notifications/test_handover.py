"""The order that bounds re-sends, seen from a real SMTP server on both databases.

The dispatcher records an outcome while the server works on the next message's commands, but
always before that message is handed over: when the server takes a message, every message it
took before is already recorded as delivered.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.decisions.services import DecisionService
from kabuguard.notifications.dispatcher import Dispatcher, Report
from kabuguard.notifications.models import InboxRow, OutboxRow
from kabuguard.notifications.outbox import Outbox
from kabuguard.notifications.pipeline import Interrupted
from tests import factories as f
from tests.conftest import FrozenClock
from tests.notifications.conftest import decide
from tests.notifications.servers import SmtpServer
from tests.notifications.test_planner import register, rows

CUSTOMERS = 5


@pytest.fixture
def queued(service: DecisionService, database: Database, notify_settings: Settings) -> None:
    """CUSTOMERS orders, each for an e-mail and the inbox."""
    for n in range(CUSTOMERS):
        register(database, notify_settings, f"c-{n}", email=f"c{n}@example.jp")
    decide(service, *(f.order(f"c-{n}") for n in range(CUSTOMERS)))


def _delivered_emails(database: Database) -> int:
    with database.read() as session:
        return session.execute(
            select(func.count()).where(
                OutboxRow.channel == "email", OutboxRow.status == "delivered"
            )
        ).scalar_one()


@pytest.mark.usefixtures("queued")
def test_every_earlier_message_is_recorded_when_the_server_takes_the_next(
    dispatcher: Dispatcher, database: Database, smtp: SmtpServer
) -> None:
    recorded_on_arrival: list[int] = []
    smtp.mailbox.on_message = lambda _count: recorded_on_arrival.append(_delivered_emails(database))
    assert dispatcher.drain() == Report(delivered=2 * CUSTOMERS)  # e-mail and inbox
    assert recorded_on_arrival == list(range(CUSTOMERS))


@pytest.mark.usefixtures("queued")
def test_a_failed_record_stops_the_batch_before_the_next_hand_over_and_costs_one_resend(
    dispatcher: Dispatcher,
    database: Database,
    smtp: SmtpServer,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unavailable(_outbox: Outbox, _item: object) -> None:
        raise OSError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(Outbox, "delivered", unavailable)
        with pytest.raises(Interrupted):
            dispatcher.drain()
    assert len(smtp.mailbox.messages) == 1  # the next message was not handed over
    # The inbox messages went first, each batch in the transaction that records it.
    assert _inbox_rows(database) == CUSTOMERS
    clock.advance(timedelta(minutes=3))  # the leases pass
    assert dispatcher.drain() == Report(delivered=CUSTOMERS)  # the e-mails
    assert _inbox_rows(database) == CUSTOMERS  # none twice
    keys = smtp.mailbox.keys()
    assert set(keys) == {r.idempotency_key for r in rows(database) if r.channel == "email"}
    assert len(keys) == CUSTOMERS + 1  # only the message whose record failed came twice


def _inbox_rows(database: Database) -> int:
    with database.read() as session:
        return session.execute(select(func.count()).select_from(InboxRow)).scalar_one()
