"""SMS and push through a real local gateway that verifies signatures and drops repeats."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import orjson
import pytest
from pydantic import SecretStr
from sqlalchemy import update

from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.decisions.services import DecisionService
from kabuguard.notifications.dispatcher import Dispatcher, Report
from kabuguard.notifications.models import OutboxRow
from kabuguard.notifications.wiring import build_dispatcher
from tests import factories as f
from tests.conftest import FrozenClock
from tests.notifications import builders as b
from tests.notifications.conftest import decide, noticing_service
from tests.notifications.servers import Gateway, GatewayServer
from tests.notifications.test_planner import register, rows

SECRET = "gateway-shared-secret-0123456789"


@pytest.fixture
def gateway(clock: FrozenClock) -> Iterator[GatewayServer]:
    with GatewayServer(Gateway(SECRET.encode(), now=clock)) as server:
        yield server


@pytest.fixture
def gateway_settings(notify_settings: Settings, gateway: GatewayServer) -> Settings:
    return notify_settings.model_copy(
        update={
            "smtp_host": None,
            "sms_webhook_url": gateway.url,
            "push_webhook_url": gateway.url,
            "webhook_secret": SecretStr(SECRET),
            "dispatch_backoff_base_seconds": 1.0,
        }
    )


@pytest.fixture
def webhook_service(
    database: Database, gateway_settings: Settings, clock: FrozenClock
) -> DecisionService:
    return noticing_service(database, gateway_settings, clock)


@pytest.fixture
def webhook_dispatcher(
    database: Database, gateway_settings: Settings, clock: FrozenClock
) -> Iterator[Dispatcher]:
    dispatcher = build_dispatcher(gateway_settings, database, clock)
    yield dispatcher
    dispatcher.close()


def test_sms_and_push_are_signed_posts_the_gateway_accepts_once(
    *,
    webhook_service: DecisionService,
    webhook_dispatcher: Dispatcher,
    database: Database,
    gateway_settings: Settings,
    gateway: GatewayServer,
    clock: FrozenClock,
) -> None:
    register(database, gateway_settings, "c-1", phone="090-1234-5678")
    decide(webhook_service, f.withdrawal("c-1", amount="3370000"))
    assert webhook_dispatcher.drain() == Report(delivered=3)  # sms, push, inbox
    accepted = {body["channel"]: body for body in gateway.gateway.accepted.values()}
    assert accepted["sms"]["to"] == "+819012345678"
    assert accepted["push"]["to"] == "c-1"
    assert accepted["sms"]["kind"] == "withdrawal:requested"
    assert "3,370,000円" in accepted["sms"]["text"]
    assert "http" not in accepted["sms"]["text"]  # no link of any kind by SMS
    # The delivery was not recorded (a crash after the POST): the same message goes again.
    with database.write() as session:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.channel == "sms")
            .values(status="pending", next_attempt_at=clock.now)
        )
    assert webhook_dispatcher.drain() == Report(delivered=1)
    assert gateway.gateway.repeats == 1
    assert len(gateway.gateway.accepted) == 2
    assert gateway.gateway.refused == []


def test_a_gateway_5xx_or_429_is_retried_and_another_4xx_is_dead_lettered(
    webhook_service: DecisionService,
    webhook_dispatcher: Dispatcher,
    database: Database,
    gateway: GatewayServer,
    clock: FrozenClock,
) -> None:
    gateway.gateway.statuses = [503, 429]
    decide(webhook_service, f.order("c-1"))  # push and inbox: no phone registered
    assert webhook_dispatcher.drain() == Report(delivered=1, retried=1)
    [push] = [r for r in rows(database) if r.channel == "push"]
    assert "gateway answered 503" in (push.last_error or "")
    clock.advance(timedelta(minutes=5))
    assert webhook_dispatcher.drain() == Report(retried=1)  # 429
    clock.advance(timedelta(minutes=5))
    assert webhook_dispatcher.drain() == Report(delivered=1)
    gateway.gateway.statuses = [400]
    decide(webhook_service, f.order("c-1", minutes=1))
    assert webhook_dispatcher.drain() == Report(delivered=1, dead=1)
    dead = [r for r in rows(database) if r.status == "dead"]
    assert [r.last_error for r in dead] == ["gateway answered 400: try later"]


def test_a_replayed_or_forged_request_is_refused_by_the_gateway(
    webhook_service: DecisionService,
    webhook_dispatcher: Dispatcher,
    gateway: GatewayServer,
    clock: FrozenClock,
) -> None:
    gateway.gateway.now = lambda: clock.now + timedelta(minutes=6)  # arrives 6 min after signing
    decide(webhook_service, f.order("c-1"))
    assert webhook_dispatcher.drain() == Report(delivered=1, dead=1)
    assert gateway.gateway.refused == ["the timestamp is more than 300 s from now"]


def test_no_phone_number_reaches_the_log_or_the_dead_letter(
    *,
    webhook_service: DecisionService,
    webhook_dispatcher: Dispatcher,
    database: Database,
    gateway_settings: Settings,
    gateway: GatewayServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="kabuguard")
    gateway.gateway.answer = lambda message: (
        (400, orjson.dumps({"error": f"{message['to']} is not reachable"}))
        if message["channel"] == "sms"
        else None
    )
    register(database, gateway_settings, "c-1", phone="080-2222-3333")
    register(database, gateway_settings, "c-2", phone="070-4444-5555")
    decide(webhook_service, f.withdrawal("c-1"))
    decide(webhook_service, b.contact_change("c-2", contact="phone", new_value="0312-3456"))
    webhook_dispatcher.drain()
    dead = sorted((r.customer_id, r.last_error) for r in rows(database) if r.status == "dead")
    assert dead == [
        ("c-1", 'gateway answered 400: {"error":"*********3333 is not reachable"}'),
        ("c-2", 'gateway answered 400: {"error":"*********5555 is not reachable"}'),  # was told
        ("c-2", "invalid phone number: not a phone number; use E.164, e.g. +819012345678"),
    ]
    logged = [repr(vars(r)) for r in caplog.records if r.name.startswith("kabuguard")]
    assert any("dead-lettered" in record for record in logged)
    for secret in ("8022223333", "7044445555", "0312-3456"):
        assert not [record for record in logged if secret in record]
