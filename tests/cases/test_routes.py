"""The case, hold and restriction endpoints: who may call them, and requests that race."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from kabuguard.apikeys.interfaces import DEFAULT_SCOPES, Scope
from kabuguard.audit.chain import AuditKind
from kabuguard.audit.models import AuditEntry
from kabuguard.db import Database
from tests import factories as f
from tests.conftest import LiveServer
from tests.functional.test_events_api import decide

RESTRICTIONS = "/v1/customers/c-1/product-restrictions"
WITHOUT_CASES = tuple(s for s in Scope if s not in {Scope.CASES_READ, Scope.CASES_WRITE})


def _held_withdrawal(api: httpx.Client, live_server: LiveServer) -> str:
    live_server.clock.now = f.BASE_TIME
    decide(api, f.payout_change("c-2", minutes=0, approved_with="passkey"))
    live_server.clock.advance(timedelta(minutes=30))
    held = decide(api, f.withdrawal("c-2", minutes=30, destination_id="dst-2"))
    assert held["outcome"] == "hold"
    return str(held["event_id"])


def _refused(response: httpx.Response, scope: Scope) -> bool:
    error = response.json()["error"]
    return response.status_code == 403 and scope.value in error["message"]


def test_the_default_and_list_scopes_cannot_read_cases_or_decide_holds(
    api: httpx.Client, live_server: LiveServer
) -> None:
    event_id = _held_withdrawal(api, live_server)
    assert api.post(RESTRICTIONS, json={"market": "NASDAQ", "reason": "asked"}).status_code == 201
    default = live_server.key("integration", scopes=DEFAULT_SCOPES)
    lists = live_server.key("ops-lists", scopes=WITHOUT_CASES)  # lists:write and every other
    for key in (default, lists):
        with live_server.client(key) as client:
            for path in ("/v1/cases", "/v1/cases/case-1", "/v1/holds"):
                assert _refused(client.get(path), Scope.CASES_READ), path  # was 200 (lists:read)
            for verb in ("release", "reject"):
                decided = client.post(f"/v1/holds/{event_id}/{verb}", json={"note": "x"})
                assert _refused(decided, Scope.CASES_WRITE), verb  # was 200 with lists:write
            added = client.post(RESTRICTIONS, json={"market": "TSE", "reason": "x"})
            assert _refused(added, Scope.CASES_WRITE)
            assert _refused(client.delete(f"{RESTRICTIONS}/NASDAQ"), Scope.CASES_WRITE)
            assert client.get(RESTRICTIONS).status_code == 200  # the customer's own: customers:read
    [hold] = api.get("/v1/holds", params={"customer_id": "c-2"}).json()
    assert (hold["event_id"], hold["status"]) == (event_id, "pending")
    assert [r["market"] for r in api.get(RESTRICTIONS).json()] == ["NASDAQ"]


def test_cases_read_lists_and_cases_write_decides(
    api: httpx.Client, live_server: LiveServer
) -> None:
    event_id = _held_withdrawal(api, live_server)
    reader = live_server.key("reader", scopes=(Scope.CASES_READ,))
    writer = live_server.key("staff", scopes=(Scope.CASES_WRITE,))
    with live_server.client(reader) as client:
        assert client.get("/v1/cases").status_code == 200
        assert [h["event_id"] for h in client.get("/v1/holds").json()] == [event_id]
        release = client.post(f"/v1/holds/{event_id}/release", json={"note": "x"})
        assert _refused(release, Scope.CASES_WRITE)
    with live_server.client(writer) as client:
        assert _refused(client.get("/v1/holds"), Scope.CASES_READ)
        released = client.post(f"/v1/holds/{event_id}/release", json={"note": "called back"})
        assert released.status_code == 200, released.text
        assert released.json()["decided_by"] == "apikey:staff"
        added = client.post(RESTRICTIONS, json={"market": "NASDAQ", "reason": "asked"})
        assert added.status_code == 201, added.text
        assert client.delete(f"{RESTRICTIONS}/NASDAQ").status_code == 200


def _at_once(
    live_server: LiveServer, key: str, send: Callable[[httpx.Client], httpx.Response], count: int
) -> list[int]:
    """`count` identical requests released together, each on its own connection; their
    status codes, sorted."""
    start = threading.Barrier(count)
    statuses: list[int] = []

    def one() -> None:
        with live_server.client(key) as client:
            start.wait(timeout=10)
            statuses.append(send(client).status_code)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(statuses)


def _audited(database: Database, kind: AuditKind) -> int:
    with database.read() as session:
        found = session.execute(
            select(func.count()).where(AuditEntry.kind == kind.value, AuditEntry.subject == "c-1")
        ).scalar()
    return int(found or 0)


def test_identical_adds_and_removes_at_once_change_and_audit_once(
    live_server: LiveServer, database: Database
) -> None:
    key = live_server.key("staff", scopes=(Scope.CASES_READ, Scope.CASES_WRITE))
    with live_server.client(key) as client:  # the key remembered: the requests then overlap
        assert client.get("/v1/cases").status_code == 200
    body = {"market": "NASDAQ", "reason": "顧客の依頼 / customer asked"}
    added = _at_once(live_server, key, lambda c: c.post(RESTRICTIONS, json=body), count=4)
    assert added == [200, 200, 200, 201]  # were 500s (IntegrityError) on PostgreSQL
    assert _audited(database, AuditKind.CUSTOMER_PRODUCT_RESTRICTED) == 1
    removed = _at_once(live_server, key, lambda c: c.delete(f"{RESTRICTIONS}/NASDAQ"), count=4)
    assert removed == [200, 404, 404, 404]  # were several 200s on PostgreSQL
    assert _audited(database, AuditKind.CUSTOMER_PRODUCT_UNRESTRICTED) == 1
