"""The "this wasn't me" link end to end: mail, confirmation page, lock through the decision path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.decisions.interfaces import (
    AnsweredByWriter,
    DecisionError,
    IdempotencyConflict,
    StorageFailed,
    is_idempotency_conflict,
)
from kabuguard.decisions.models import DecisionRow
from kabuguard.errors import error_reply
from kabuguard.notifications.freeze import lock_event_id
from kabuguard.state.models import CustomerLockRow
from tests import factories as f
from tests.conftest import FrozenClock, LiveServer, running_server
from tests.notifications.servers import SmtpServer
from tests.notifications.test_routes import eventually

LINK = re.compile(r"https://kabuguard\.broker\.example(/freeze/\S+)")


@pytest.fixture
def server(
    notify_settings: Settings, database: Database, clock: FrozenClock
) -> Iterator[LiveServer]:
    with running_server(notify_settings, database, clock) as live:
        yield live


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client(server.key()) as client:
        client.put("/v1/customers/c-1/contacts", json={"email": "taro@example.jp"})
        yield client


def freeze_path(smtp: SmtpServer, index: int) -> str:
    def mail() -> str | None:
        if len(smtp.mailbox.messages) <= index:
            return None
        body = smtp.mailbox.messages[index].get_body(("plain",))
        assert body is not None
        return str(body.get_content())

    found = LINK.search(eventually(mail, f"e-mail {index}"))
    assert found is not None
    return found.group(1)


def locked(database: Database) -> CustomerLockRow | None:
    with database.read() as session:
        return session.get(CustomerLockRow, "c-1")


def test_get_only_asks_and_post_locks_through_the_decision_path(
    server: LiveServer, api: httpx.Client, smtp: SmtpServer, database: Database
) -> None:
    assert api.post("/v1/events", json=f.login("c-1")).status_code == 200
    path = freeze_path(smtp, 0)
    page = api.get(path)  # what a link scanner does
    assert page.status_code == 200
    assert "口座をロックしますか" in page.text
    assert "執行されることがあります" in page.text  # ACCT-4: standing orders keep running
    assert "<script" not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "script-src" not in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert locked(database) is None

    cross_site = api.post(
        path, data={"confirm": "lock"}, headers={"origin": "https://phish.example"}
    )
    assert cross_site.status_code == 403
    assert api.post(path, data={}).status_code == 403  # no confirmation: nothing happens
    assert locked(database) is None

    done = api.post(path, data={"confirm": "lock"})
    assert done.status_code == 200
    assert "口座をロックしました" in done.text
    lock = locked(database)
    assert lock is not None
    assert lock.initiated_by == "customer"
    with database.read() as session:
        decision = session.get(DecisionRow, lock.event_id)
    assert decision is not None  # decided and audited like any lock
    assert api.post("/v1/events", json=f.login("c-1", 1)).json()["outcome"] == "deny"

    again = api.post(path, data={"confirm": "lock"})
    assert again.status_code == 410
    assert "すでに使われています" in again.text
    with database.read() as session:
        decisions = session.execute(select(DecisionRow.event_id)).scalars().all()
    assert sum(1 for event_id in decisions if event_id.startswith("freeze-")) == 1

    def lock_notice() -> str | None:
        subjects = [str(m["Subject"]) for m in smtp.mailbox.messages]
        return next((s for s in subjects if "口座をロックしました" in s), None)

    eventually(lock_notice, "the lock notice")
    lock_mail = next(m for m in smtp.mailbox.messages if "ロックしました" in str(m["Subject"]))
    body = lock_mail.get_body(("plain",))
    assert body is not None
    assert "/freeze/" not in body.get_content()  # the lock notice offers no second link


def test_an_expired_unknown_or_altered_link_locks_nothing(
    server: LiveServer,
    api: httpx.Client,
    smtp: SmtpServer,
    database: Database,
    clock: FrozenClock,
) -> None:
    assert api.post("/v1/events", json=f.order("c-1")).status_code == 200
    path = freeze_path(smtp, 0)
    assert api.get(path[:-3] + "xyz").status_code == 404  # right row, wrong secret
    assert (
        api.get("/freeze/" + "0" * 64 + ".nope-nope-nope-nope-nope-nope-nope-nope-nope").status_code
        == 404
    )
    assert api.get("/freeze/short").status_code == 404
    clock.advance(timedelta(days=8))
    expired = api.post(path, data={"confirm": "lock"})
    assert expired.status_code == 410
    assert "有効期限が切れています" in expired.text
    assert "0120-111-222" in expired.text
    assert locked(database) is None


def test_a_link_with_a_nul_is_unknown_not_an_error(
    server: LiveServer, api: httpx.Client, smtp: SmtpServer, database: Database
) -> None:
    assert api.post("/v1/events", json=f.order("c-1")).status_code == 200
    path = freeze_path(smtp, 0)
    in_key, in_secret = path[:20] + "%00" + path[21:], path[:-1] + "%00"
    for altered in (in_key, in_secret, "/freeze/%00"):
        shown = api.get(altered)
        assert shown.status_code == 404, altered  # was 500 on PostgreSQL
        assert "このリンクは無効です" in shown.text
        assert api.post(altered, data={"confirm": "lock"}).status_code == 404, altered
    assert locked(database) is None
    assert api.get(path).status_code == 200  # the real link still works


def test_a_link_whose_lock_was_stored_but_not_marked_used_shows_locked(
    server: LiveServer, api: httpx.Client, smtp: SmtpServer, database: Database
) -> None:
    assert api.post("/v1/events", json=f.order("c-1")).status_code == 200
    path = freeze_path(smtp, 0)
    # A first submit stored the lock, then the server died before marking the link used: the
    # next submit carries the same event id with another time (an idempotency conflict).
    first = f.lock("c-1", 5, event_id=lock_event_id(path.removeprefix("/freeze/")))
    assert api.post("/v1/events", json=first).status_code == 200
    again = api.post(path, data={"confirm": "lock"})
    assert again.status_code == 200, again.text  # was 503: "could not lock"
    assert "口座をロックしました" in again.text
    assert locked(database) is not None
    assert api.post(path, data={"confirm": "lock"}).status_code == 410  # now marked used


@pytest.mark.parametrize(
    ("error", "stored"), [(IdempotencyConflict("freeze-1"), True), (StorageFailed(), False)]
)
def test_the_writer_process_answering_a_conflict_means_the_lock_is_stored(
    error: DecisionError, stored: bool
) -> None:
    reply = error_reply(error)  # what a writer process of its own answers (ADR 0008)
    assert reply is not None
    assert is_idempotency_conflict(AnsweredByWriter(reply.status, reply.body)) is stored
    assert is_idempotency_conflict(error) is stored
