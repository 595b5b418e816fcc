"""The transactional outbox: rows written with the decision that causes them, and only then."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select

from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.decisions.interfaces import StorageFailed
from kabuguard.decisions.models import DecisionRow
from kabuguard.decisions.services import DecisionService, Submitted
from kabuguard.notifications.contacts import contact_context, load_profiles
from kabuguard.notifications.customers import CustomerSettings
from kabuguard.notifications.kinds import ChannelKind, Locale
from kabuguard.notifications.kinds import NoticeKind as K
from kabuguard.notifications.models import OutboxRow
from kabuguard.notifications.wiring import cipher_from
from tests import factories as f
from tests.conftest import FrozenClock
from tests.notifications import builders as b
from tests.notifications.conftest import decide, noticing_service


def register(database: Database, settings: Settings, customer: str, **contacts: Any) -> None:
    with database.write() as session:
        CustomerSettings(session, cipher_from(settings), actor="t", at=f.BASE_TIME).set_contacts(
            customer, email=contacts.get("email"), phone=contacts.get("phone"), locale=Locale.JA
        )


def rows(database: Database) -> list[OutboxRow]:
    with database.read() as session:
        return list(session.execute(select(OutboxRow).order_by(OutboxRow.id)).scalars())


def recipient(settings: Settings, row: OutboxRow) -> str:
    assert row.recipient is not None
    context = contact_context(row.customer_id, ChannelKind(row.channel))
    return cipher_from(settings).decrypt(row.recipient, context=context)


def test_a_decision_writes_one_pending_row_per_channel_encrypted(
    service: DecisionService, database: Database, notify_settings: Settings
) -> None:
    register(database, notify_settings, "c-1", email="taro@example.jp")
    decide(service, f.order("c-1"), f.order("c-2"))
    found = rows(database)
    assert [(r.customer_id, r.channel, r.kind) for r in found] == [
        ("c-1", "email", "order:placed"),
        ("c-1", "inbox", "order:placed"),
        ("c-2", "inbox", "order:placed"),
    ]
    email = found[0]
    assert (email.status, email.attempts, email.locale) == ("pending", 0, "ja")
    assert "taro" not in (email.recipient or "")
    assert recipient(notify_settings, email) == "taro@example.jp"
    assert email.freeze_digest is not None  # e-mail carries the freeze link
    assert found[1].freeze_digest is None  # nothing else does
    assert len({r.idempotency_key for r in found}) == 3


@pytest.fixture
def refuses_outbox_rows_for_c9(database: Database) -> Iterator[None]:
    """The database refuses to store a notification for customer c-9."""
    with database.engine.begin() as connection:
        if database.is_sqlite:
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_c9 BEFORE INSERT ON notification_outbox "
                "WHEN NEW.customer_id = 'c-9' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse_c9() RETURNS trigger AS $$ BEGIN "
                "IF NEW.customer_id = 'c-9' THEN RAISE EXCEPTION 'refused'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_c9 BEFORE INSERT ON notification_outbox "
                "FOR EACH ROW EXECUTE FUNCTION refuse_c9()"
            )
    yield
    with database.engine.begin() as connection:
        connection.exec_driver_sql(
            "DROP TRIGGER refuse_c9" + ("" if database.is_sqlite else " ON notification_outbox")
        )
        if not database.is_sqlite:
            connection.exec_driver_sql("DROP FUNCTION refuse_c9()")


@pytest.mark.usefixtures("refuses_outbox_rows_for_c9")
def test_no_decision_without_its_notifications_and_no_notification_without_its_decision(
    service: DecisionService, database: Database
) -> None:
    items = [(f.typed(f.order(customer)), "t") for customer in ("c-1", "c-9", "c-2")]
    results = service.decide_many(items)
    assert [type(r) for r in results] == [Submitted, StorageFailed, Submitted]
    with database.read() as session:
        decided = set(session.execute(select(DecisionRow.event_id)).scalars())
    assert decided == {items[0][0].event_id, items[2][0].event_id}
    assert {r.event_id for r in rows(database)} == decided


def test_a_contact_change_is_told_to_the_previous_address_too(
    service: DecisionService, database: Database, notify_settings: Settings
) -> None:
    register(database, notify_settings, "c-1", email="owner@example.jp")
    decide(service, b.contact_change("c-1", new_value="attacker@evil.example"))
    found = [
        (r.channel, recipient(notify_settings, r) if r.recipient else None) for r in rows(database)
    ]
    assert sorted(found, key=str) == sorted(
        [("email", "attacker@evil.example"), ("inbox", None), ("email", "owner@example.jp")],
        key=str,
    )
    decide(service, f.order("c-1", minutes=1))  # from now on the new address is current
    assert [recipient(notify_settings, r) for r in rows(database)[3:] if r.recipient] == [
        "attacker@evil.example"
    ]


def test_a_refused_contact_change_keeps_notices_at_the_registered_address(
    service: DecisionService, database: Database, notify_settings: Settings
) -> None:
    register(database, notify_settings, "c-1", email="owner@example.jp", phone="090-1111-2222")
    decide(service, f.lock("c-1"), b.contact_change("c-1", minutes=1, new_value="x@evil.example"))
    change = [r for r in rows(database) if r.kind == K.CONTACT_DETAILS_CHANGED]
    assert {recipient(notify_settings, r) for r in change if r.channel == "email"} == {
        "owner@example.jp"
    }
    assert {r.channel for r in change} == {"email", "inbox"}  # no SMS channel configured


def test_devices_and_sessions_are_learned_in_order_within_one_batch(
    service: DecisionService, database: Database
) -> None:
    logins = [
        f.login("c-1", 0, device_id="d-1", session_id="s-1"),  # new device
        f.login("c-1", 1, device_id="d-1", session_id="s-1", step="second_factor"),  # same login
        f.login("c-1", 2, device_id="d-1", session_id="s-2"),  # known device: optional
        f.login("c-1", 3, device_id="d-2", session_id="s-3"),  # new device
    ]
    decide(service, *logins)
    assert [(r.event_id, r.kind) for r in rows(database)] == [
        (logins[0]["event_id"], "login:device:new"),
        (logins[3]["event_id"], "login:device:new"),
    ]
    with database.read() as session:
        profile = load_profiles(session.connection(), ["c-1"])["c-1"]
    assert len(profile.devices) == 2
    assert profile.login_session == "s-3"


def test_optional_notices_follow_the_broker_default_and_the_customer(
    database: Database, notify_settings: Settings, clock: FrozenClock
) -> None:
    every_login = notify_settings.model_copy(
        update={"notify_optional_defaults": frozenset({K.LOGIN_DEVICE_KNOWN})}
    )
    service = noticing_service(database, every_login, clock)
    decide(service, f.login("c-1", 0, session_id="s-1"), f.login("c-2", 0, session_id="s-1"))
    with database.write() as session:
        CustomerSettings(
            session, cipher_from(every_login), actor="t", at=f.BASE_TIME
        ).set_preferences("c-2", enabled=[], disabled=[K.LOGIN_DEVICE_KNOWN])
    decide(service, f.login("c-1", 1, session_id="s-2"), f.login("c-2", 1, session_id="s-2"))
    kinds = [(r.customer_id, r.kind) for r in rows(database)]
    assert kinds == [
        ("c-1", "login:device:new"),
        ("c-2", "login:device:new"),
        ("c-1", "login:device:known"),
    ]


def _notification_statements(
    database: Database, service: DecisionService, events: list[dict[str, Any]]
) -> list[str]:
    """The statements a decision batch runs on the notification tables, first words only."""
    executed: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "notification_" in statement:
            executed.append(" ".join(statement.split()[:3]))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        decide(service, *events)
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    return executed


def test_a_batch_of_any_size_reads_profiles_once_and_writes_each_table_once(
    database: Database, notify_settings: Settings, clock: FrozenClock
) -> None:
    service = noticing_service(database, notify_settings, clock)
    for n in range(40):
        register(database, notify_settings, f"c-{n}", email=f"c{n}@example.jp")

    def batch(size: int, start: int) -> list[dict[str, Any]]:
        logins = [f.login(f"c-{n}", minutes=start + n) for n in range(size)]
        return logins + [f.order(f"c-{n}", minutes=start + n) for n in range(size)]

    small = _notification_statements(database, service, batch(5, 0))
    large = _notification_statements(database, service, batch(40, 100))
    assert small == large
    assert [words.split()[0] for words in small] == ["SELECT", "INSERT", "INSERT"]
    assert "notification_profiles" in small[1]  # the profiles the batch taught something to
    assert "notification_outbox" in small[2]
