"""Concurrent callers: the audit chain never forks and an event is decided exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import func, select

from kabuguard.audit.chain import AuditKind
from kabuguard.audit.models import AuditEntry
from kabuguard.audit.services import verify_chain
from kabuguard.decisions.models import DecisionRow
from tests import factories as f
from tests.conftest import LiveServer


def test_parallel_submissions_keep_one_intact_chain(live_server: LiveServer) -> None:
    key = live_server.key("parallel")
    events = [f.login(f"c-{n % 7}", minutes=n) for n in range(200)]

    def submit(chunk: list[dict[str, Any]]) -> list[int]:
        with live_server.client(key) as client:
            return [client.post("/v1/events", json=event).status_code for event in chunk]

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = [
            s for result in pool.map(submit, [events[i::16] for i in range(16)]) for s in result
        ]
    assert statuses == [200] * 200
    with live_server.database.read() as session:
        report = verify_chain(session)
        decisions = session.execute(select(func.count()).select_from(DecisionRow)).scalar_one()
    assert report.intact, report.first_break
    assert decisions == 200
    # 200 decisions, the key's creation and the startup policy activation.
    assert report.entries == 202


def test_the_same_event_sent_at_once_is_decided_once(live_server: LiveServer) -> None:
    key = live_server.key("racer")
    event = f.payout_change("c-race")

    def submit(_: int) -> dict[str, Any]:
        with live_server.client(key) as client:
            response = client.post("/v1/events", json=event)
            assert response.status_code == 200
            body: dict[str, Any] = response.json()
            return body

    with ThreadPoolExecutor(max_workers=12) as pool:
        bodies = list(pool.map(submit, range(24)))
    assert all(body == bodies[0] for body in bodies)
    with live_server.database.read() as session:
        recorded = session.execute(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.kind == AuditKind.DECISION_RECORDED.value)
            .where(AuditEntry.subject == event["event_id"])
        ).scalar_one()
        assert verify_chain(session).intact
    assert recorded == 1


def test_audit_records_decisions_and_list_changes(
    api: httpx.Client, live_server: LiveServer
) -> None:
    api.post("/v1/events", json=f.login())
    api.post("/v1/lists/halted-symbols", json={"symbol": "9999", "market": "TSE", "reason": "x"})
    api.delete("/v1/lists/halted-symbols/TSE/9999")
    with live_server.database.read() as session:
        kinds = list(session.execute(select(AuditEntry.kind).order_by(AuditEntry.seq)).scalars())
    assert kinds == [
        AuditKind.POLICY_ACTIVATED,
        AuditKind.APIKEY_CREATED,
        AuditKind.DECISION_RECORDED,
        AuditKind.LIST_HALTED_SYMBOL_ADDED,
        AuditKind.LIST_HALTED_SYMBOL_REMOVED,
    ]
