"""The dispatcher against a real SMTP server: delivery, backoff, dead letters, leases."""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select, text

from kabuguard.audit.chain import AuditKind
from kabuguard.audit.models import AuditEntry
from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.decisions.services import DecisionService
from kabuguard.notifications.dispatcher import Dispatcher, Report, RetryPolicy
from kabuguard.notifications.interfaces import NotDeadLettered, OutboxRowNotFound
from kabuguard.notifications.models import InboxRow
from kabuguard.notifications.outbox import _CLAIM, Outbox
from kabuguard.notifications.wiring import DispatcherThread, build_dispatcher
from tests import factories as f
from tests.conftest import FrozenClock
from tests.notifications import builders as b
from tests.notifications.conftest import decide
from tests.notifications.servers import SmtpServer, free_port
from tests.notifications.test_planner import register, rows


def test_due_messages_reach_the_smtp_server_as_mail_a_mailbox_can_deduplicate(
    service: DecisionService,
    dispatcher: Dispatcher,
    database: Database,
    notify_settings: Settings,
    smtp: SmtpServer,
) -> None:
    register(database, notify_settings, "c-1", email="taro@example.jp")
    decide(service, f.login("c-1"))
    assert dispatcher.drain() == Report(delivered=2)
    [mail] = smtp.mailbox.messages
    [email_row, inbox_row] = rows(database)
    key = email_row.idempotency_key
    assert smtp.mailbox.recipients == ["taro@example.jp"]
    assert mail["From"] == "Example証券 <security@broker.example>"
    assert mail["Subject"] == "[Example証券] 新しい端末からログインがありました"
    assert mail["Message-ID"] == f"<{key}@broker.example>"  # the From domain, DMARC-aligned
    assert mail["X-Kabuguard-Idempotency-Key"] == key
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe"] is None  # security notices cannot be unsubscribed
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert f"https://kabuguard.broker.example/freeze/{key}." in plain.get_content()
    assert "0120-111-222" in html.get_content()
    assert (email_row.status, inbox_row.status) == ("delivered", "delivered")
    assert email_row.freeze_secret is None  # sent: only the digest remains
    with database.read() as session:
        [inbox] = session.execute(select(InboxRow)).scalars()
    assert (inbox.customer_id, inbox.kind) == ("c-1", "login:device:new")
    assert "新しい端末" in inbox.body
    assert "/freeze/" not in inbox.body


def test_an_unreachable_server_is_retried_with_backoff_then_dead_lettered(
    service: DecisionService, database: Database, notify_settings: Settings, clock: FrozenClock
) -> None:
    register(database, notify_settings, "c-1", email="taro@example.jp")
    down = notify_settings.model_copy(
        update={
            "smtp_port": free_port(),
            "dispatch_max_attempts": 3,
            "dispatch_backoff_base_seconds": 10.0,
        }
    )
    dispatcher = build_dispatcher(down, database, clock)
    decide(service, f.withdrawal("c-1"))
    assert dispatcher.drain() == Report(delivered=1, retried=1)  # the inbox needs no server
    [email] = [r for r in rows(database) if r.channel == "email"]
    assert (email.status, email.attempts) == ("pending", 1)
    assert "SMTP server unavailable" in (email.last_error or "")
    assert clock.now <= email.next_attempt_at <= clock.now + timedelta(seconds=10)
    assert dispatcher.drain() == Report()  # not due yet
    for attempt in (2, 3):
        clock.advance(timedelta(hours=1))
        dispatcher.drain()
        [email] = [r for r in rows(database) if r.channel == "email"]
        assert email.attempts == attempt
    assert email.status == "dead"
    assert (email.last_error or "").endswith("(after 3 attempts)")
    dispatcher.close()


def test_a_refused_recipient_or_an_invalid_address_is_dead_lettered_at_once(
    service: DecisionService,
    dispatcher: Dispatcher,
    database: Database,
    notify_settings: Settings,
    smtp: SmtpServer,
) -> None:
    answers = {"gone@example.jp": "550 5.1.1 no such user", "full@example.jp": "452 4.2.2 full"}
    smtp.mailbox.answer = lambda address: answers.get(address, "250 OK")
    for customer, address in (("c-1", "gone@example.jp"), ("c-2", "full@example.jp")):
        register(database, notify_settings, customer, email=address)
    register(database, notify_settings, "c-3", email="ok@example.jp")
    decide(service, b.contact_change("c-3", new_value="not an address"))  # kept as sent
    decide(service, f.order("c-1", 1), f.order("c-2", 1))
    dispatcher.drain()
    errors = {
        (r.customer_id, r.kind, r.status): r.last_error
        for r in rows(database)
        if r.channel == "email"
    }
    assert "invalid address" in str(errors[("c-3", "contact:details:changed", "dead")])
    assert "550 5.1.1" in str(errors[("c-1", "order:placed", "dead")])
    assert "452 4.2.2" in str(errors[("c-2", "order:placed", "pending")])
    assert smtp.mailbox.recipients == ["ok@example.jp"]  # the previous address was told


def test_no_address_reaches_the_log_or_the_dead_letter(
    *,
    service: DecisionService,
    dispatcher: Dispatcher,
    database: Database,
    notify_settings: Settings,
    smtp: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="kabuguard")
    smtp.mailbox.answer = lambda address: (
        f"550 5.1.1 <{address}>: Recipient address rejected"
        if address.lower().startswith("gone")
        else "250 OK"
    )
    register(database, notify_settings, "c-1", email="Gone.Taro@example.jp")
    register(database, notify_settings, "c-2", email="ok@example.jp")
    decide(service, b.contact_change("c-2", new_value="hanako.secret@localhost"))  # kept as sent
    decide(service, f.order("c-1", 1))
    dispatcher.drain()
    dead = {r.customer_id: r.last_error or "" for r in rows(database) if r.status == "dead"}
    assert dead == {
        "c-1": "recipient refused: 550 5.1.1 <G***@e***.jp>: Recipient address rejected",
        "c-2": "invalid address: not a valid e-mail address",
    }
    logged = [repr(vars(r)) for r in caplog.records if r.name.startswith("kabuguard")]
    assert any("dead-lettered" in record for record in logged)
    for secret in ("gone.taro", "hanako.secret"):
        assert not [record for record in logged if secret in record.lower()]


def test_a_message_refused_after_its_content_is_dead_lettered_and_the_connection_serves_on(
    service: DecisionService,
    dispatcher: Dispatcher,
    database: Database,
    notify_settings: Settings,
    smtp: SmtpServer,
) -> None:
    for customer in ("c-1", "c-2"):
        register(database, notify_settings, customer, email=f"{customer}@example.jp")
    smtp.mailbox.answer_content = lambda mail: (
        "554 5.6.0 content rejected" if "c-1@" in str(mail["To"]) else "250 OK"
    )
    decide(service, f.order("c-1"), f.order("c-2"))
    assert dispatcher.drain() == Report(delivered=3, dead=1)
    [refused] = [r for r in rows(database) if r.channel == "email" and r.status == "dead"]
    assert (refused.customer_id, refused.last_error) == (
        "c-1",
        "message refused: 554 5.6.0 content rejected",
    )
    assert smtp.mailbox.recipients == ["c-2@example.jp"]


def test_an_expired_lease_is_claimed_again_and_the_late_dispatcher_cannot_overwrite_it(
    service: DecisionService, database: Database, clock: FrozenClock
) -> None:
    decide(service, f.order("c-1"))
    outbox = Outbox(database, clock)
    [first] = outbox.claim(10, timedelta(minutes=2))
    assert outbox.claim(10, timedelta(minutes=2)) == []  # leased
    clock.advance(timedelta(minutes=3))  # its dispatcher died
    [second] = outbox.claim(10, timedelta(minutes=2))
    assert (second.id, second.attempts) == (first.id, 2)
    outbox.failed(first, "late answer from the dead dispatcher", retry_at=None)
    [row] = rows(database)
    assert (row.status, row.last_error) == ("pending", None)
    outbox.delivered(second)
    assert rows(database)[0].status == "delivered"


def test_a_message_whose_dispatchers_kept_dying_is_dead_lettered(
    service: DecisionService, database: Database, notify_settings: Settings, clock: FrozenClock
) -> None:
    decide(service, f.order("c-1"))
    outbox = Outbox(database, clock)
    for _ in range(3):
        outbox.claim(10, timedelta(minutes=2))
        clock.advance(timedelta(minutes=3))
    few = notify_settings.model_copy(update={"dispatch_max_attempts": 3})
    dispatcher = build_dispatcher(few, database, clock)
    assert dispatcher.drain() == Report(dead=1)
    assert rows(database)[0].last_error == "gave up after 3 attempts"
    dispatcher.close()


def test_inbox_messages_are_delivered_and_recorded_a_batch_in_one_transaction(
    service: DecisionService, database: Database, notify_settings: Settings, clock: FrozenClock
) -> None:
    for n in range(5):
        decide(service, f.order(f"c-{n}"))
    writes: list[str] = []

    def record(*args: Any) -> None:
        writes.append(str(args[2]))

    sa_event.listen(database.engine, "before_cursor_execute", record)
    try:
        assert build_dispatcher(notify_settings, database, clock).drain() == Report(delivered=5)
    finally:
        sa_event.remove(database.engine, "before_cursor_execute", record)
    inserts = [w for w in writes if w.startswith("INSERT INTO notification_inbox")]
    marks = [w for w in writes if w.startswith("UPDATE notification_outbox SET status")]
    assert (len(inserts), len(marks)) == (1, 1)  # executemany, each once for the batch
    assert {r.status for r in rows(database)} == {"delivered"}
    with database.read() as session:
        stored = session.execute(select(InboxRow.customer_id)).scalars().all()
    assert sorted(stored) == [f"c-{n}" for n in range(5)]


def test_an_inbox_that_cannot_be_written_keeps_the_batch_pending_and_nothing_half_done(
    service: DecisionService, database: Database, notify_settings: Settings, clock: FrozenClock
) -> None:
    decide(service, f.order("c-1"))
    decide(service, f.order("c-2"))
    with database.write() as session:  # the inbox table is gone: its inserts fail
        session.execute(text("ALTER TABLE notification_inbox RENAME TO inbox_away"))
    dispatcher = build_dispatcher(notify_settings, database, clock)
    try:
        report = dispatcher.drain()
    finally:  # the PostgreSQL database is shared by the run's tests
        with database.write() as session:
            session.execute(text("ALTER TABLE inbox_away RENAME TO notification_inbox"))
    assert report == Report(retried=2)
    assert {(r.status, r.attempts) for r in rows(database)} == {("pending", 1)}
    assert all("inbox unavailable" in (r.last_error or "") for r in rows(database))
    clock.advance(timedelta(hours=1))  # past any backoff
    assert dispatcher.drain() == Report(delivered=2)


def test_one_inbox_message_the_database_refuses_costs_only_itself_an_attempt(
    service: DecisionService, database: Database, notify_settings: Settings, clock: FrozenClock
) -> None:
    for customer in ("c-1", "c-bad", "c-2"):
        decide(service, f.order(customer))
    _refuse_inbox_rows_of(database, "c-bad")
    try:
        report = build_dispatcher(notify_settings, database, clock).drain()
    finally:  # the PostgreSQL database is shared by the run's tests
        with database.write() as session:
            session.execute(text("DROP TRIGGER refuse" + _ON_INBOX[database.engine.dialect.name]))
            if database.engine.dialect.name == "postgresql":
                session.execute(text("DROP FUNCTION refuse()"))
    assert report == Report(delivered=2, retried=1)
    by_customer = {r.customer_id: r for r in rows(database)}
    assert by_customer["c-bad"].status == "pending"
    assert "inbox unavailable" in (by_customer["c-bad"].last_error or "")
    assert {by_customer["c-1"].status, by_customer["c-2"].status} == {"delivered"}


_ON_INBOX = {"sqlite": "", "postgresql": " ON notification_inbox"}


def _refuse_inbox_rows_of(database: Database, customer: str) -> None:
    """A trigger that fails the insert of one customer's inbox rows (a stand-in for any row
    the database refuses)."""
    with database.write() as session:
        if database.engine.dialect.name == "sqlite":
            session.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON notification_inbox "
                    f"WHEN NEW.customer_id = '{customer}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
            return
        session.execute(
            text(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.customer_id = '{customer}' THEN RAISE EXCEPTION 'refused'; END IF; "
                "RETURN NEW; END $$"
            )
        )
        session.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON notification_inbox "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        )


def test_a_running_dispatcher_gathers_the_messages_of_decisions_in_quick_succession(
    service: DecisionService, database: Database, notify_settings: Settings, clock: FrozenClock
) -> None:
    claims: list[str] = []

    def record(*args: Any) -> None:
        if str(args[2]).startswith("UPDATE notification_outbox SET attempts"):
            claims.append(str(args[2]))

    running = DispatcherThread(
        build_dispatcher(notify_settings, database, clock), poll_seconds=30, gather_seconds=0.5
    )
    sa_event.listen(database.engine, "before_cursor_execute", record)
    running.start()
    try:
        decide(service, f.order("c-0"))
        running.wake.set()
        _wait_for_delivered(database, 1)
        for n in range(1, 10):  # within the half second the dispatcher lets them gather
            decide(service, f.order(f"c-{n}"))
            running.wake.set()
        _wait_for_delivered(database, 10)
    finally:
        running.stop()
        sa_event.remove(database.engine, "before_cursor_execute", record)
    assert len(claims) == 2


def _wait_for_delivered(database: Database, count: int) -> None:
    deadline = time.monotonic() + 10
    while sum(r.status == "delivered" for r in rows(database)) < count:
        assert time.monotonic() < deadline, "the dispatcher did not deliver in time"
        time.sleep(0.01)


def test_an_inbox_message_already_stored_is_not_stored_twice(
    service: DecisionService, database: Database, notify_settings: Settings, clock: FrozenClock
) -> None:
    decide(service, f.order("c-1"))
    outbox = Outbox(database, clock)
    [claimed] = outbox.claim(10, timedelta(minutes=2))
    clock.advance(timedelta(minutes=3))  # a dispatcher stored it, then died before recording
    dispatcher = build_dispatcher(notify_settings, database, clock)
    with database.write() as session:
        session.add(
            InboxRow(
                idempotency_key=claimed.idempotency_key, customer_id="c-1", kind="order",
                locale="ja", subject="s", body="b", occurred_at=clock(), created_at=clock(),
            )
        )  # fmt: skip
    assert dispatcher.drain() == Report(delivered=1)
    with database.read() as session:
        assert len(session.execute(select(InboxRow)).scalars().all()) == 1


def test_a_dead_letter_is_queued_again_on_request_and_audited(
    service: DecisionService, database: Database, clock: FrozenClock
) -> None:
    decide(service, f.order("c-1"))
    outbox = Outbox(database, clock)
    [claimed] = outbox.claim(10, timedelta(minutes=2))
    outbox.failed(claimed, "550 no such user", retry_at=None)
    requeued = outbox.retry(claimed.id, "cli:ops")
    assert (requeued.status, requeued.attempts) == ("pending", 0)
    with pytest.raises(NotDeadLettered, match="only dead messages"):
        outbox.retry(claimed.id, "cli:ops")
    with pytest.raises(OutboxRowNotFound):
        outbox.retry(99_999, "cli:ops")
    with database.read() as session:
        entry = session.execute(
            select(AuditEntry).where(AuditEntry.kind == AuditKind.NOTIFICATION_OUTBOX_REQUEUED)
        ).scalar_one()
    assert (entry.actor, entry.subject) == ("cli:ops", "c-1")
    assert "550 no such user" in entry.payload


@pytest.mark.parametrize("attempt", [1, 2, 5, 12])
def test_backoff_is_exponential_with_full_jitter(attempt: int) -> None:
    policy = RetryPolicy(max_attempts=12, base_seconds=5, cap_seconds=900)
    rng = random.Random(attempt)
    delays = [policy.delay(attempt, rng) for _ in range(2000)]
    ceiling = min(900, 5 * 2 ** (attempt - 1))
    assert all(0 <= d <= ceiling for d in delays)
    assert min(delays) < ceiling * 0.05  # full jitter reaches down to zero
    assert max(delays) > ceiling * 0.95  # and up to the exponential ceiling


def test_concurrent_dispatchers_on_postgresql_claim_different_rows_without_waiting(
    service: DecisionService, database: Database, clock: FrozenClock
) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite dispatchers take turns under the writer lock")
    decide(service, *(f.order(f"c-{n}") for n in range(4)))
    params = {"now": clock.now, "limit": 2, "lease": clock.now + timedelta(minutes=2)}
    with database.write() as first:  # a dispatcher in the middle of its claim
        held = {row.id for row in first.connection().execute(_CLAIM, params)}
        taken = {item.id for item in Outbox(database, clock).claim(10, timedelta(minutes=2))}
    assert len(held) == 2
    assert len(taken) == 2
    assert held.isdisjoint(taken)
