"""Fixtures for the notification tests: real SMTP and webhook servers, a noticing service."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.decisions.services import DecisionService, Policies, Submitted
from kabuguard.notifications.dispatcher import Dispatcher
from kabuguard.notifications.wiring import build_dispatcher, build_planner
from kabuguard.risk.policy import Policy
from tests import factories as f
from tests.conftest import FrozenClock
from tests.notifications.servers import SmtpServer

BROKER = {
    "broker_name": "Example証券",
    "broker_phone": "0120-111-222",
    "mail_from": "security@broker.example",
    "public_base_url": "https://kabuguard.broker.example",
}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def notify_settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(
        update=BROKER
        | {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_timeout_seconds": 5}
    )


def noticing_service(
    database: Database, settings: Settings, clock: Callable[[], datetime]
) -> DecisionService:
    return DecisionService(
        database,
        Policies(Policy.default()),
        clock=clock,
        max_future_skew=timedelta(minutes=5),
        notices=build_planner(settings, on_enqueued=lambda: None),
    )


@pytest.fixture
def service(database: Database, notify_settings: Settings, clock: FrozenClock) -> DecisionService:
    return noticing_service(database, notify_settings, clock)


@pytest.fixture
def dispatcher(
    database: Database, notify_settings: Settings, clock: FrozenClock
) -> Iterator[Dispatcher]:
    built = build_dispatcher(notify_settings, database, clock)
    yield built
    built.close()


def decide(service: DecisionService, *documents: dict[str, Any]) -> list[dict[str, Any]]:
    """Decide events in one group commit; every one must succeed."""
    results = service.decide_many([(f.typed(d), "test") for d in documents])
    assert all(isinstance(r, Submitted) for r in results), results
    return [r.decision for r in results if isinstance(r, Submitted)]
