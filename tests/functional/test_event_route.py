"""POST /v1/events through the FastAPI route (fast path off): same answers as the fast path."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kabuguard.apikeys.interfaces import Scope
from kabuguard.decisions import services
from kabuguard.risk.decisions import Decision
from kabuguard.risk.engine import decide
from kabuguard.risk.events import Event
from tests import factories as f
from tests.conftest import LiveServer


def test_both_paths_answer_alike(server_on_either_path: LiveServer) -> None:
    key = server_on_either_path.key("both", scopes=(Scope.EVENTS_WRITE,))
    with server_on_either_path.client(key) as client:
        event = f.login()
        first = client.post("/v1/events", json=event)
        assert first.status_code == 200
        assert first.json()["outcome"] == "allow"
        assert first.headers["content-type"] == "application/json"
        again = client.post("/v1/events", json=event)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        conflict = client.post("/v1/events", json=event | {"ip": "192.0.2.1"})
        assert (conflict.status_code, conflict.json()["error"]["code"]) == (
            409,
            "idempotency_conflict",
        )
        invalid = client.post("/v1/events", json=event | {"event_id": "x2", "quantity": 1})
        assert invalid.status_code == 422
        assert invalid.json()["error"]["fields"][0]["field"] == "quantity"
        huge = client.post("/v1/events", json=f.login() | {"user_agent": "x" * 70_000})
        assert huge.status_code == 413
        text = client.post("/v1/events", content=b"x", headers={"content-type": "text/plain"})
        assert text.status_code == 415
    with server_on_either_path.client() as anonymous:
        response = anonymous.post("/v1/events", json=f.login())
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    reader = server_on_either_path.key("reader", scopes=(Scope.DECISIONS_READ,))
    with server_on_either_path.client(reader) as client:
        assert client.post("/v1/events", json=f.login()).status_code == 403


def test_unknown_paths_and_methods_use_the_error_shape(api: httpx.Client) -> None:
    missing = api.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = api.get("/v1/events")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert wrong.headers["allow"] == "POST"


def test_a_defect_one_event_sets_off_is_answered_for_that_event_alone(
    server_on_either_path: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: the engine raises on one event id, as a defect in a rule would."""

    def decide_with_a_defect(event: Event, *args: Any, **kwargs: Any) -> Decision:
        if event.event_id.startswith("defect-"):
            raise ZeroDivisionError("a rule divided by zero")
        return decide(event, *args, **kwargs)

    monkeypatch.setattr(services, "decide", decide_with_a_defect)
    key = server_on_either_path.key("defect", scopes=(Scope.EVENTS_WRITE,))
    with server_on_either_path.client(key) as client:
        alone = client.post("/v1/events", json=f.login(event_id="defect-1"))
        assert alone.status_code == 500
        assert alone.json()["error"]["code"] == "internal_error"
        assert "'defect-1'" in alone.json()["error"]["message"]
        batch = [f.login("c-1", minutes=1), f.login(event_id="defect-2"), f.login("c-2")]
        answered = client.post("/v1/events/batch", json={"events": batch})
        assert answered.status_code == 200
        assert [item["status"] for item in answered.json()["results"]] == [200, 500, 200]
