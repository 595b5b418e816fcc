"""The notification API on a real server: contacts, preferences, inbox; and SMTP being down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import select

from kabuguard.apikeys.interfaces import Scope
from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.notifications.models import OutboxRow
from tests import factories as f
from tests.conftest import FrozenClock, LiveServer, running_server
from tests.notifications.servers import free_port

T = TypeVar("T")


@pytest.fixture
def server(
    notify_settings: Settings, database: Database, clock: FrozenClock
) -> Iterator[LiveServer]:
    with running_server(notify_settings, database, clock) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client(server.key("all-scopes")) as api:
        yield api


def eventually(probe: Callable[[], T | None], what: str) -> T:
    """Poll until the server's background dispatcher has done its part (bounded, not timed)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def test_contacts_are_set_and_shown_masked_and_bad_ones_are_refused_by_name(
    client: httpx.Client,
) -> None:
    put = client.put(
        "/v1/customers/c-1/contacts", json={"email": "Taro@Example.jp", "phone": "090-1234-5678"}
    )
    assert put.status_code == 200, put.text
    assert put.json() == {
        "customer_id": "c-1",
        "email": "T***@e***.jp",
        "phone": "*********5678",
        "locale": "ja",
    }
    assert client.get("/v1/customers/c-1/contacts").json() == put.json()
    bad = client.put("/v1/customers/c-1/contacts", json={"email": "taro@", "phone": "12"})
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "invalid_request"
    assert {field["field"] for field in error["fields"]} == {"email", "phone"}
    assert client.put("/v1/customers/c-1/contacts", json={"fax": "x"}).status_code == 422
    nul = client.put("/v1/customers/c-1/contacts", json={"email": "taro\x00@example.jp"})
    assert nul.status_code == 422, nul.text  # was 500 on PostgreSQL
    assert nul.json()["error"]["fields"][0]["field"] == "email"
    assert client.put("/v1/customers/c%201/contacts", json={}).status_code == 422


def test_security_notices_cannot_be_turned_off_through_the_api(client: httpx.Client) -> None:
    refused = client.put(
        "/v1/customers/c-1/preferences", json={"disabled": ["login:device:new", "order:cancelled"]}
    )
    assert refused.status_code == 422
    [field] = refused.json()["error"]["fields"]
    assert field["field"] == "disabled"
    assert "security notices cannot be turned off: login:device:new" in field["message"]
    unknown = client.put("/v1/customers/c-1/preferences", json={"enabled": ["login:every"]})
    assert unknown.status_code == 422
    ok = client.put("/v1/customers/c-1/preferences", json={"enabled": ["login:device:known"]})
    assert ok.status_code == 200
    assert "login:device:known" in ok.json()["receives"]
    assert client.get("/v1/customers/c-1/preferences").json() == ok.json()


def test_the_inbox_shows_the_customers_messages_newest_first(
    server: LiveServer, client: httpx.Client
) -> None:
    for minutes, event in enumerate([f.login("c-1"), f.order("c-1", 1), f.order("c-2", 2)]):
        assert client.post("/v1/events", json=event).status_code == 200, minutes

    def inbox() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = client.get("/v1/customers/c-1/inbox").json()["items"]
        return items if len(items) == 2 else None

    items = eventually(inbox, "the in-app inbox")
    assert [item["kind"] for item in items] == ["order:placed", "login:device:new"]
    assert items[0]["subject"] == "[Example証券] ご注文がありました"
    assert "0120-111-222" in items[0]["body"]
    page = client.get("/v1/customers/c-1/inbox", params={"limit": 1}).json()
    older = client.get("/v1/customers/c-1/inbox", params={"before": page["next_before"]}).json()
    assert [i["kind"] for i in older["items"]] == ["login:device:new"]
    reader = server.client(server.key("reader", (Scope.LISTS_READ,)))
    assert reader.get("/v1/customers/c-1/inbox").status_code == 403


def test_an_inbox_cursor_beyond_any_id_is_refused_by_name(client: httpx.Client) -> None:
    too_far = client.get("/v1/customers/c-1/inbox", params={"before": "99999999999999999999"})
    assert too_far.status_code == 422, too_far.text  # was 500 on SQLite and PostgreSQL
    assert [field["field"] for field in too_far.json()["error"]["fields"]] == ["query.before"]
    largest = client.get("/v1/customers/c-1/inbox", params={"before": str(2**63 - 1)})
    assert largest.status_code == 200, largest.text
    assert largest.json()["items"] == []


def test_decisions_go_on_while_the_smtp_server_is_down(
    notify_settings: Settings, database: Database, clock: FrozenClock
) -> None:
    down = notify_settings.model_copy(update={"smtp_port": free_port()})
    with running_server(down, database, clock) as live, live.client(live.key()) as api:
        api.put("/v1/customers/c-1/contacts", json={"email": "taro@example.jp"})
        decisions = [api.post("/v1/events", json=f.order("c-1", n)) for n in range(3)]
        assert [d.status_code for d in decisions] == [200, 200, 200]

        def failed_email() -> list[OutboxRow] | None:
            with database.read() as session:
                found = list(
                    session.execute(
                        select(OutboxRow).where(
                            OutboxRow.channel == "email", OutboxRow.last_error.is_not(None)
                        )
                    ).scalars()
                )
            return found if len(found) == 3 else None

        rows = eventually(failed_email, "the dispatcher's failed attempts")
    assert {row.status for row in rows} == {"pending"}  # to be retried, not lost
    assert all("SMTP server unavailable" in (row.last_error or "") for row in rows)


def test_serve_runs_the_dispatcher_unless_told_not_to(
    notify_settings: Settings, database: Database, clock: FrozenClock
) -> None:
    def dispatching() -> bool:
        return "kabuguard-dispatcher" in {thread.name for thread in threading.enumerate()}

    off = notify_settings.model_copy(update={"dispatch_in_serve": False})
    with running_server(off, database, clock):
        assert not dispatching()
    with running_server(notify_settings, database, clock):
        assert dispatching()
