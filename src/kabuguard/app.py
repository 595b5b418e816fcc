"""create_app(settings): routers, middleware, error handlers and wiring — nothing global."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import uvloop
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kabuguard import __version__, observability
from kabuguard.apikeys.interfaces import ApiKeyError
from kabuguard.apikeys.services import Authenticator
from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind
from kabuguard.audit.models import AuditHead
from kabuguard.auth.install import install as install_auth
from kabuguard.cases import routes as case_routes
from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.decisions import routes as decision_routes
from kabuguard.decisions.fastpath import EVENTS_PATH, EventFastPath, EventIntake
from kabuguard.decisions.interfaces import DecisionError
from kabuguard.decisions.process import READY, WriterCollector, WriterProcess
from kabuguard.decisions.remote import RemoteCommitter, WriterServer
from kabuguard.decisions.services import DecisionService, Policies
from kabuguard.decisions.writer import GroupCommitter
from kabuguard.enrich.enricher import warm_enricher
from kabuguard.errors import INTERNAL_ERROR, JSON, Reply, error_body, error_reply
from kabuguard.http import BodyLimit
from kabuguard.lists import routes as list_routes
from kabuguard.migrations import head_revision
from kabuguard.notifications import freeze
from kabuguard.notifications import routes as notification_routes
from kabuguard.notifications.wiring import (
    DispatcherThread,
    build_dispatcher,
    build_planner,
    cipher_from,
)
from kabuguard.parsing import ApiError, malformed_json
from kabuguard.risk.events import EVENT_ADAPTER
from kabuguard.risk.policy import Policy
from kabuguard.state.interfaces import StateError
from kabuguard.wal import LogNotDurable

log = logging.getLogger("kabuguard")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def load_policies(settings: Settings) -> Policies:
    live = Policy.from_file(settings.policy_file) if settings.policy_file else Policy.default()
    shadow = Policy.from_file(settings.shadow_policy_file) if settings.shadow_policy_file else None
    return Policies(live, shadow)


def create_app(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    fast_path: bool = True,
    writer: WriterProcess | None = None,
    policies: Policies | None = None,
) -> FastAPI:
    """The server. With `writer` its events are decided by that writer process (ADR 0008);
    without, by a writer thread of its own. `policies`: those the writer was started with,
    loaded once (by default, read from the settings' files)."""
    database = Database.from_settings(settings)
    policies = policies or load_policies(settings)
    dispatcher = DispatcherThread(
        build_dispatcher(settings, database, clock),
        settings.dispatch_poll_seconds,
        settings.dispatch_gather_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Loaded before any thread that needs it starts, so it is loaded once.
        await run_in_threadpool(warm_enricher)
        await run_in_threadpool(_record_policy_activation, database, policies, clock())
        database.start_background_checkpoints()  # off the request path, whoever writes
        app.state.committer.start()
        if settings.dispatch_in_serve:
            dispatcher.start()
        # What startup built (modules, models, compiled statements, the network data and the
        # user-agent parser) lives as long as the process: frozen, it is no longer walked by
        # every full collection on the request path (unfrozen, each one took 40-50 ms).
        gc.freeze()
        yield
        await run_in_threadpool(app.state.committer.stop)
        await run_in_threadpool(dispatcher.stop)
        database.stop_background_checkpoints()
        database.dispose()

    app = FastAPI(
        title="kabuguard",
        version=__version__,
        summary="Account-takeover defence for online brokerages: explainable decisions.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock
    app.state.authenticator = Authenticator(
        database, settings.api_key_pepper.get_secret_value().encode()
    )
    app.state.cipher = cipher_from(settings)
    app.state.policies = policies  # the live one's session length reaches the auth pages
    app.state.decisions = _decision_service(
        settings, database, policies, clock, on_enqueued=dispatcher.wake.set
    )
    app.state.committer = (
        RemoteCommitter(writer.socket_path, on_notices=dispatcher.wake.set)
        if writer is not None
        else GroupCommitter(
            app.state.decisions, database, deadline_seconds=settings.decision_timeout_seconds
        )
    )
    app.state.intake = EventIntake(
        app.state.authenticator,
        app.state.committer,
        settings.max_event_bytes,
        max_in_flight=settings.max_events_in_flight,
        timeout=settings.decision_timeout_seconds,
    )
    app.include_router(decision_routes.router)
    app.include_router(list_routes.router)
    app.include_router(case_routes.router)
    app.include_router(notification_routes.router)
    app.include_router(freeze.router)
    install_auth(app, on_enqueued=dispatcher.wake.set)
    _add_operational_routes(app, database, writer)
    _add_error_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, own_limits=_EVENT_PATHS)
    app.add_middleware(_MetricsMiddleware)
    if fast_path:
        _serve_events_first(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _decision_service(
    settings: Settings,
    database: Database,
    policies: Policies,
    clock: Clock,
    *,
    on_enqueued: Callable[[], None],
    counts: bool = True,
) -> DecisionService:
    return DecisionService(
        database,
        policies,
        clock=clock,
        max_future_skew=timedelta(seconds=settings.max_future_skew_seconds),
        notices=build_planner(settings, on_enqueued=on_enqueued),
        counts=counts,
    )


def policies_digest(policies: Policies) -> str:
    """Which live and shadow policy a process decides with."""
    shadow = policies.shadow.digest if policies.shadow is not None else "-"
    return f"{policies.live.digest}:{shadow}"


class PolicyChanged(RuntimeError):
    """The writer process found other policy files than its server loaded."""


def run_writer(
    settings: Settings, socket_path: str, *, expected_policies: str, clock: Clock = utc_now
) -> None:
    """The writer process (`kabuguard writer`, ADR 0008): decides the server's events until
    its standard input closes (the server stops it so, or is gone) or SIGINT. It refuses to
    start on other policies than `expected_policies`, the server's: events and the batch
    endpoint must not be decided by two policies, and the server records their activation."""
    policies = load_policies(settings)
    if policies_digest(policies) != expected_policies:
        raise PolicyChanged(
            "the policy files changed since the server started; restart `kabuguard serve` "
            "to decide with the new policy"
        )
    # uvloop, as the server's loop: each event's framing and answer cost the writer's
    # interpreter lock, which is the service's limit.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_writer_main(settings, policies, socket_path, clock))


async def _writer_main(
    settings: Settings, policies: Policies, socket_path: str, clock: Clock
) -> None:
    database = Database.from_settings(settings)
    notices = threading.Event()
    service = _decision_service(
        settings, database, policies, clock, on_enqueued=notices.set, counts=False
    )
    committer = GroupCommitter(
        service, database, deadline_seconds=settings.decision_timeout_seconds
    )
    server = WriterServer(committer, notices)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, warm_enricher)
    database.start_background_checkpoints()
    committer.start()
    gc.freeze()  # as in the server: startup objects out of every full collection's walk
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    # The server stops it by closing its standard input, once the server has answered what
    # it holds. A SIGTERM sent to the whole service at once (systemd's default) must not
    # stop the writer first.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(
        target=_set_on_eof, args=(loop, stop), name="kabuguard-stdin", daemon=True
    ).start()
    # The socket's directory is private to this user (`WriterProcess`).
    listener = await asyncio.start_unix_server(server.handle, socket_path)
    print(READY.decode(), flush=True)
    _quiet_stdout()  # nobody reads it after the handshake: a full pipe would block
    await stop.wait()
    listener.close()
    await server.shutdown()
    await loop.run_in_executor(None, committer.stop)
    database.stop_background_checkpoints()
    database.dispose()


def _quiet_stdout() -> None:
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), sys.stdout.fileno())


def _set_on_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    # The descriptor, not sys.stdin: a daemon thread holding the buffered reader's lock
    # would abort the interpreter at exit.
    while os.read(sys.stdin.fileno(), 4096):
        pass  # the server writes nothing; end of file means it is gone
    loop.call_soon_threadsafe(stop.set)


def _serve_events_first(app: FastAPI) -> None:
    """Put the event fast path outside the whole stack, the framework's own layers included.

    `add_middleware` would place it inside FastAPI's error, telemetry and body-limit layers,
    which cost about a tenth of the server's CPU per event (profiled); the fast path answers
    its own errors and limits, so it needs none of them.
    """
    build = app.build_middleware_stack

    def build_with_fast_path() -> ASGIApp:
        return EventFastPath(build(), app.state.intake)

    app.build_middleware_stack = build_with_fast_path  # type: ignore[method-assign]


def _record_policy_activation(database: Database, policies: Policies, now: datetime) -> None:
    """Append `policy:activated` when the live or shadow policy differs from the last one."""
    payload = {
        "live": {"version": policies.live.version, "digest": policies.live.digest},
        "shadow": (
            {"version": policies.shadow.version, "digest": policies.shadow.digest}
            if policies.shadow
            else None
        ),
    }
    with database.write() as session:
        last = audit.last_entry_of_kind(session, AuditKind.POLICY_ACTIVATED)
        if last is None or orjson.loads(last) != payload:
            audit.append(
                session,
                kind=AuditKind.POLICY_ACTIVATED,
                actor="system:startup",
                subject=policies.live.version,
                payload=payload,
                at=now,
            )
            log.info("policy activated", extra={"policy": payload})


def _schema_problem(found: str | None) -> str | None:
    """Why the schema is not the one this version needs (new code deployed before `db
    upgrade` would take traffic and fail every decision), or None."""
    needed = head_revision()
    if found == needed:
        return None
    return (
        f"the database schema is at revision {found or 'none'}, this version needs {needed}: "
        "run `kabuguard db upgrade`"
    )


def _add_operational_routes(app: FastAPI, database: Database, writer: WriterProcess | None) -> None:
    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="The database is reachable and migrated")
    async def readyz() -> Response:
        def probe() -> str | None:
            if writer is not None and not writer.ready:
                return "the decision writer is not running; it is being started again"
            if database.durability_problem is not None:
                return database.durability_problem
            try:
                with database.read() as session:
                    if session.execute(select(AuditHead.seq)).first() is None:
                        return "the database is not migrated: run `kabuguard db upgrade`"
                    found = session.execute(text("SELECT version_num FROM alembic_version"))
                    return _schema_problem(found.scalar())
            except SQLAlchemyError as error:
                return f"the database is unreachable: {type(error).__name__}"

        problem = await run_in_threadpool(probe)
        body = (
            {"status": "ready"} if problem is None else {"status": "unavailable", "reason": problem}
        )
        return Response(
            orjson.dumps(body), 200 if problem is None else 503, media_type="application/json"
        )

    # Per app, not global: a test process builds many apps.
    writer_state = CollectorRegistry()
    if writer is not None:
        writer_state.register(WriterCollector(writer))

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def metrics() -> Response:
        server = generate_latest(observability.REGISTRY) + generate_latest(writer_state)
        writers = await app.state.committer.metrics()  # the group committer's, wherever it runs
        return Response(server + writers, media_type=CONTENT_TYPE_LATEST)


def _reply(reply: Reply) -> Response:
    return Response(reply.body, reply.status, reply.headers)


def _add_error_handlers(app: FastAPI) -> None:
    async def known(_request: Request, error: Exception) -> Response:
        reply = error_reply(error)  # a database that cannot serve now: 503 on every route
        if reply is None:
            log.exception("unhandled error", exc_info=error)
        return _reply(reply or INTERNAL_ERROR)

    # Per package base class: Starlette sends handlers for plain Exception to its outermost
    # middleware, which re-raises after replying and so drops the connection.
    for base in (ApiError, ApiKeyError, DecisionError, StateError, SQLAlchemyError, LogNotDurable):
        app.add_exception_handler(base, known)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> Response:
        log.exception("unhandled error", exc_info=error)
        return _reply(INTERNAL_ERROR)

    @app.exception_handler(StarletteHTTPException)
    async def framework_error(_request: Request, error: StarletteHTTPException) -> Response:
        cause = error.__cause__
        if error.status_code == 400 and isinstance(cause, ValueError | RecursionError):
            # FastAPI reading a JSON body gave up: not UTF-8, a number too long, too deep.
            detail = "nested too deeply" if isinstance(cause, RecursionError) else cause
            return _reply(error_reply(malformed_json(detail)) or INTERNAL_ERROR)
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        headers = JSON | dict(error.headers or {})  # keeps Allow on a 405
        return Response(error_body(code, str(error.detail)), error.status_code, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> Response:
        issues = error.errors()
        broken = next((issue for issue in issues if issue["type"] == "json_invalid"), None)
        if broken is not None:  # as the event endpoints answer it, not as a field named "44"
            detail = broken.get("ctx", {}).get("error", "JSON decode error")
            at = f"{detail} at character {broken['loc'][-1]}"
            return _reply(error_reply(malformed_json(at)) or INTERNAL_ERROR)
        fields = [_request_field(issue) for issue in issues]
        message = "; ".join(
            f"{f['field']}: {f['message']}" if f["field"] else f["message"] for f in fields
        )
        return Response(error_body("invalid_request", message, fields), 422, JSON)


def _request_field(issue: Any) -> dict[str, str]:
    location = tuple(issue["loc"])
    if location == ("body",) and issue["type"] == "missing":
        return {"field": "", "message": "the body is missing: send a JSON object"}
    if location == ("body",) and issue["type"] in {"model_attributes_type", "dict_type"}:
        return {"field": "", "message": "the body must be a JSON object, sent as application/json"}
    return {
        "field": ".".join(str(part) for part in location if part != "body"),
        "message": str(issue["msg"]).removeprefix("Value error, "),
    }


# The event routes read their bodies with limits of their own (KABUGUARD_MAX_EVENT_BYTES and
# KABUGUARD_MAX_BATCH_BYTES); every other body is bounded by KABUGUARD_MAX_BODY_BYTES.
_EVENT_PATHS = (EVENTS_PATH, f"{EVENTS_PATH}/batch")


class _MetricsMiddleware:
    """Latency histogram by route template (a pure ASGI middleware: no per-request task)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope["method"] if scope["method"] in _METHODS else "other"
            observability.REQUEST_SECONDS.labels(method, template, str(status)).observe(
                time.perf_counter() - started
            )


# The method label from a fixed set: the server accepts some thirty (PROPFIND, PURGE, ...),
# and each would open new series per route for anybody who sends it.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        events = EVENT_ADAPTER.json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.update(events.pop("$defs", {}))
        schemas["Event"] = events
        components["securitySchemes"] = {
            "apiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "A key from `kabuguard apikey create NAME`.",
            }
        }
        for path, operations in schema["paths"].items():
            if path.startswith("/v1/") and path != "/v1/schema/events":
                for operation in operations.values():
                    operation["security"] = [{"apiKey": []}]
        app.openapi_schema = schema
    return app.openapi_schema
