"""The decision API over real HTTP on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from kabuguard.apikeys.interfaces import Scope
from tests import factories as f
from tests.conftest import LiveServer


def decide(api: httpx.Client, event: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/v1/events", json=event)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(decision: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in decision["reasons"]]


def test_a_plain_login_is_allowed_with_a_complete_decision(api: httpx.Client) -> None:
    event = f.login()
    decision = decide(api, event)
    assert decision["event_id"] == event["event_id"]
    assert decision["outcome"] == "allow"
    # A first login from a documentation address: explained, but not enough to challenge.
    assert codes(decision) == ["login:network:unknown", "login:history:none"]
    assert decision["risk_score"] == sum(r["score"] for r in decision["reasons"]) < 40
    assert all(r["message"]["ja"] and r["message"]["en"] for r in decision["reasons"])
    assert decision["restrictions"] == []
    assert decision["required_factor"] is None
    assert decision["policy_version"] == "2026.11.1"
    assert decision["shadow"] is None
    assert api.get(f"/v1/decisions/{event['event_id']}").json() == decision


def test_requests_without_a_key_get_401_and_a_wrong_scope_403(live_server: LiveServer) -> None:
    with live_server.client() as anonymous:
        response = anonymous.post("/v1/events", json=f.login())
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthenticated"
    with live_server.client("kg_nonexistent_secret") as forged:
        assert forged.post("/v1/events", json=f.login()).status_code == 401
    reader = live_server.key("reader", scopes=(Scope.DECISIONS_READ,))
    with live_server.client(reader) as client:
        response = client.post("/v1/events", json=f.login())
        assert response.status_code == 403
        assert "events:write" in response.json()["error"]["message"]


def test_same_event_twice_returns_the_stored_decision(api: httpx.Client) -> None:
    event = f.login()
    first = api.post("/v1/events", json=event)
    again = api.post("/v1/events", json=dict(reversed(list(event.items()))))
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


def test_same_event_id_with_a_different_payload_is_a_conflict(api: httpx.Client) -> None:
    event = f.login()
    decide(api, event)
    response = api.post("/v1/events", json=event | {"ip": "192.0.2.1"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"


def test_a_locked_customer_is_denied_until_unlocked(api: httpx.Client) -> None:
    assert decide(api, f.lock("c-9", minutes=0))["outcome"] == "allow"
    denied = decide(api, f.login("c-9", minutes=1))
    assert denied["outcome"] == "deny"
    assert codes(denied)[0] == "customer:lock:active"  # the deciding reason comes first
    assert decide(api, f.withdrawal("c-9", minutes=2))["outcome"] == "deny"
    assert decide(api, f.unlock("c-9", minutes=3))["outcome"] == "allow"
    assert decide(api, f.login("c-9", minutes=4))["outcome"] == "allow"


def test_a_customer_can_neither_replace_nor_lift_a_staff_lock(api: httpx.Client) -> None:
    """A "this wasn't me" link in a phished mailbox must not turn a staff lock into one the
    customer's passkey lifts (AUTH-10: lifting a staff lock takes two operators)."""
    assert decide(api, f.lock("c-8", initiated_by="staff", reason="hijack"))["outcome"] == "allow"
    assert decide(api, f.lock("c-8", minutes=1))["outcome"] == "allow"  # locked either way
    refused = decide(api, f.unlock("c-8", minutes=2, initiated_by="customer"))
    assert refused["outcome"] == "deny"
    assert codes(refused) == ["customer:lock:not_own"]
    assert codes(decide(api, f.login("c-8", minutes=3)))[0] == "customer:lock:active"
    assert decide(api, f.unlock("c-8", minutes=4))["outcome"] == "allow"  # staff
    assert decide(api, f.login("c-8", minutes=5))["outcome"] == "allow"
    # The customer's own lock stays theirs to lift.
    assert decide(api, f.lock("c-8", minutes=6))["outcome"] == "allow"
    assert decide(api, f.unlock("c-8", minutes=7, initiated_by="customer"))["outcome"] == "allow"
    assert decide(api, f.login("c-8", minutes=8))["outcome"] == "allow"


def test_lock_precedence_holds_within_one_group(api: httpx.Client) -> None:
    """A batch is decided in one transaction: each event sees the lock its predecessors left."""
    items = [
        f.lock("c-10", initiated_by="staff", reason="hijack"),
        f.lock("c-10", minutes=1),
        f.unlock("c-10", minutes=2, initiated_by="customer"),
        f.login("c-10", minutes=3),
    ]
    response = api.post("/v1/events/batch", json={"events": items})
    results = [item["decision"] for item in response.json()["results"]]
    assert [r["outcome"] for r in results] == ["allow", "allow", "deny", "deny"]
    assert codes(results[2]) == ["customer:lock:not_own"]
    assert codes(results[3])[0] == "customer:lock:active"


def test_payout_change_restricts_withdrawals_for_the_cooling_off(
    api: httpx.Client, live_server: LiveServer
) -> None:
    live_server.clock.now = f.BASE_TIME  # events arrive as they happen
    change = decide(api, f.payout_change("c-2", minutes=0, approved_with="passkey"))
    assert change["outcome"] == "allow"
    [restriction] = change["restrictions"]
    assert restriction["capability"] == "withdraw"
    assert restriction["until"] == f.at(72 * 60)
    live_server.clock.advance(timedelta(minutes=60))
    held = decide(api, f.withdrawal("c-2", minutes=60))
    assert held["outcome"] == "hold"
    assert codes(held) == ["restriction:withdraw:active"]
    assert held["reasons"][0]["message"]["ja"]
    assert held["restrictions"] == change["restrictions"]
    live_server.clock.advance(timedelta(hours=72))
    assert decide(api, f.withdrawal("c-2", minutes=72 * 60 + 1))["outcome"] == "allow"
    assert decide(api, f.withdrawal("c-3", minutes=60))["outcome"] == "allow"


def test_a_payout_change_without_a_passkey_approval_is_challenged(api: httpx.Client) -> None:
    change = decide(api, f.payout_change("c-7", minutes=0, approved_with="sms_otp"))
    assert change["outcome"] == "challenge"
    assert change["required_factor"] == "phishing_resistant"
    assert codes(change) == ["payout:factor:required"]


def test_a_backdated_payout_change_cools_off_from_when_it_arrived(
    api: httpx.Client, live_server: LiveServer
) -> None:
    arrived = live_server.clock.now  # 30 days after the event claims to have happened
    change = decide(api, f.payout_change("c-4", minutes=0))
    assert change["restrictions"][0]["until"] == (arrived + timedelta(hours=72)).isoformat()
    held = decide(api, f.withdrawal("c-4", minutes=5))
    assert held["outcome"] == "hold"


def test_buy_halt_is_effective_at_once_for_buys_but_not_sells(api: httpx.Client) -> None:
    decide(api, f.instrument(symbol="2345"))
    assert decide(api, f.order(symbol="2345", minutes=0))["outcome"] == "allow"
    response = api.post(
        "/v1/lists/halted-symbols", json={"symbol": "2345", "market": "TSE", "reason": "pump"}
    )
    assert response.status_code == 201
    buy = decide(api, f.order(symbol="2345", minutes=1))
    assert buy["outcome"] == "deny"
    assert codes(buy) == ["order:symbol:halted"]
    assert decide(api, f.order(symbol="2345", side="sell", minutes=2))["outcome"] == "allow"
    assert [h["symbol"] for h in api.get("/v1/lists/halted-symbols").json()] == ["2345"]
    assert api.delete("/v1/lists/halted-symbols/TSE/2345").status_code == 200
    assert decide(api, f.order(symbol="2345", minutes=3))["outcome"] == "allow"
    assert api.delete("/v1/lists/halted-symbols/TSE/2345").status_code == 404


def test_blocked_network_denies_customer_actions(api: httpx.Client) -> None:
    response = api.post(
        "/v1/lists/blocked-networks", json={"network": "203.0.113.0/24", "reason": "stuffing"}
    )
    assert response.status_code == 201
    denied = decide(api, f.login(ip="203.0.113.55"))
    assert denied["outcome"] == "deny"
    assert codes(denied)[0] == "network:ip:blocked"
    assert decide(api, f.login(ip="203.0.114.1"))["outcome"] == "allow"
    assert api.delete("/v1/lists/blocked-networks/203.0.113.0/24").status_code == 200
    assert decide(api, f.login(ip="203.0.113.55"))["outcome"] == "allow"


def test_list_changes_need_the_lists_write_scope(live_server: LiveServer) -> None:
    key = live_server.key("integration", scopes=(Scope.EVENTS_WRITE, Scope.LISTS_READ))
    with live_server.client(key) as client:
        body = {"symbol": "2345", "market": "TSE", "reason": "pump"}
        assert client.post("/v1/lists/halted-symbols", json=body).status_code == 403
        assert client.get("/v1/lists/halted-symbols").status_code == 200


def test_unparseable_ip_is_scored_as_unknown_not_an_error(api: httpx.Client) -> None:
    decision = decide(api, f.login(ip="not-an-ip"))
    assert decision["outcome"] == "allow"
    assert codes(decision) == ["network:ip:unparseable", "login:history:none"]


def test_timeline_is_newest_first_and_paginates(api: httpx.Client) -> None:
    events = [f.login("c-5", minutes=m) for m in range(5)]
    for event in events:
        decide(api, event)
    decide(api, f.login("c-6", minutes=10))
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.get("/v1/customers/c-5/timeline", params=params).json()
        seen += [item["event"]["event_id"] for item in page["items"]]
        assert all(item["decision"]["outcome"] == "allow" for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["event_id"] for e in reversed(events)]
    bad = api.get("/v1/customers/c-5/timeline", params={"cursor": "garbage"})
    assert bad.status_code == 400


def test_unknown_decision_is_404(api: httpx.Client) -> None:
    response = api.get("/v1/decisions/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("mutate", "status", "field"),
    [
        (lambda e: e | {"occurred_at": "2026-11-20T09:00:00"}, 422, "occurred_at"),
        (lambda e: e | {"type": "teleport"}, 422, "type"),
        (lambda e: {k: v for k, v in e.items() if k != "type"}, 422, "type"),
        (lambda e: e | {"quantity": 0}, 422, "quantity"),
        (lambda e: e | {"quantity": -5}, 422, "quantity"),
        (lambda e: e | {"quantity": "many"}, 422, "quantity"),
        (lambda e: e | {"limit_price": -1}, 422, "limit_price"),
        (lambda e: e | {"surprise": 1}, 422, "surprise"),
        (lambda e: e | {"occurred_at": "2099-01-01T00:00:00+00:00"}, 422, ""),
    ],
)
def test_bad_events_get_a_4xx_naming_the_field(
    api: httpx.Client, mutate: Any, status: int, field: str
) -> None:
    response = api.post("/v1/events", json=mutate(f.order()))
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_event"
    assert field in error["message"]
    if field:
        assert field in [item["field"] for item in error["fields"]]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"type": "order", ', 400, "malformed_json"),
        (b"[1, 2]", 422, "invalid_event"),
        (b'{"type":"order","event_id":"x","limit_price":NaN}', 422, "invalid_event"),
        (b'{"type":"order","event_id":"x","limit_price":1e999}', 422, "invalid_event"),
        (b"", 400, "malformed_json"),
    ],
)
def test_malformed_bodies_get_a_clear_4xx(
    api: httpx.Client, body: bytes, status: int, code: str
) -> None:
    response = api.post("/v1/events", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_oversized_and_non_json_bodies_are_refused(api: httpx.Client) -> None:
    huge = f.login() | {"user_agent": "x" * 70_000}
    response = api.post("/v1/events", json=huge)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    text = api.post("/v1/events", content=b"hello", headers={"content-type": "text/plain"})
    assert text.status_code == 415


def test_batch_decides_each_item_and_isolates_bad_ones(api: httpx.Client) -> None:
    good = f.login("c-7", minutes=1)
    duplicate = f.login("c-7", minutes=2)
    decide(api, duplicate)
    conflicting = duplicate | {"ip": "192.0.2.9"}
    items = [good, {"type": "order", "event_id": "broken"}, conflicting, f.lock("c-7", minutes=3)]
    items.append(f.login("c-7", minutes=4))
    response = api.post("/v1/events/batch", json={"events": items})
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (3, 2)
    statuses = [(r["index"], r["status"]) for r in body["results"]]
    assert statuses == [(0, 200), (1, 422), (2, 409), (3, 200), (4, 200)]
    assert body["results"][1]["error"]["fields"]
    # Items are decided in order: the lock in item 3 denies the login in item 4.
    assert body["results"][4]["decision"]["outcome"] == "deny"
    assert api.get(f"/v1/decisions/{good['event_id']}").status_code == 200
    assert api.get("/v1/decisions/broken").status_code == 404


def test_batch_shape_and_size_are_checked(api: httpx.Client) -> None:
    assert api.post("/v1/events/batch", json={"items": []}).status_code == 422
    too_many = {"events": [f.login() for _ in range(10_001)]}
    response = api.post("/v1/events/batch", json=too_many)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "batch_too_large"


def test_schema_health_readiness_metrics_and_docs(api: httpx.Client) -> None:
    schema = api.get("/v1/schema/events").json()
    assert schema["discriminator"]["propertyName"] == "type"
    assert set(schema["discriminator"]["mapping"]) >= {"login_attempt", "order", "withdrawal"}
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/readyz").json() == {"status": "ready"}
    decide(api, f.login())
    metrics = api.get("/metrics").text
    assert 'kabuguard_decisions_total{outcome="allow"}' in metrics
    assert "kabuguard_http_request_duration_seconds_bucket" in metrics
    assert 'route="/v1/events"' in metrics
    # A method nobody uses here opens no series of its own (unbounded label values).
    assert api.request("PROPFIND", "/v1/events").status_code == 405
    after = api.get("/metrics").text
    assert 'method="PROPFIND"' not in after
    assert 'method="other"' in after
    assert "kabuguard_group_commit_batch_size_count" in metrics  # this process's committer
    assert "kabuguard_writer_up" not in metrics  # no writer process in this shape
    openapi = api.get("/openapi.json").json()
    assert "Event" in openapi["components"]["schemas"]
    assert api.get("/docs").status_code == 200
