"""Prometheus metrics and JSON logs."""

from __future__ import annotations

import logging
import sys
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pythonjsonlogger.json import JsonFormatter

REGISTRY = CollectorRegistry()
# The decision writer's own metrics. It may run in a process of its own (ADR 0008): the
# server's /metrics then asks that process for them, so each series has one source.
WRITER_REGISTRY = CollectorRegistry()

DECISIONS = Counter(
    "kabuguard_decisions_total", "Decisions made, by outcome.", ["outcome"], registry=REGISTRY
)
REASONS = Counter(
    "kabuguard_decision_reasons_total",
    "Reason codes attached to decisions.",
    ["code"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "kabuguard_http_request_duration_seconds",
    "HTTP request latency by route template and status.",
    ["method", "route", "status"],
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
EVENTS_IN_FLIGHT = Gauge(
    "kabuguard_events_in_flight",
    "Single events accepted and not yet answered (503 overloaded past the configured cap).",
    registry=REGISTRY,
)


GROUP_COMMIT_SIZE = Histogram(
    "kabuguard_group_commit_batch_size",
    "Events decided together in one transaction.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
    registry=WRITER_REGISTRY,
)
LOG_SYNC_FAILED = Gauge(
    "kabuguard_storage_log_sync_failed",
    "1 once an fsync of the SQLite log failed: every decision is answered 503 until an "
    "operator has checked the disk, removed <database>.fsync-failed and restarted.",
    registry=WRITER_REGISTRY,
)


def record_decision(decision: dict[str, Any]) -> None:
    DECISIONS.labels(decision["outcome"]).inc()
    for reason in decision["reasons"]:
        REASONS.labels(reason["code"]).inc()


def configure_logging(level: str, *, json_logs: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
