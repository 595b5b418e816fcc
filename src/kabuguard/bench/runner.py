"""`kabuguard bench`: replay throughput, HTTP decisions against a bare echo, in one run.

The server runs in its own process exactly as `kabuguard serve` runs it (uvicorn, httptools,
uvloop, one worker); the load generator runs in this process. Both share the machine's cores,
so the echo baseline is measured under the same conditions and the engine's cost is a ratio.
"""

from __future__ import annotations

import io
import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, or_, select

from kabuguard import migrations
from kabuguard.apikeys import services as apikeys
from kabuguard.apikeys.interfaces import DEFAULT_SCOPES
from kabuguard.auth import bench as auth_bench
from kabuguard.bench import workload
from kabuguard.bench.loadgen import LoadResult, run_load
from kabuguard.bench.logins import measure_login_decisions
from kabuguard.bench.orders import measure_order_decisions
from kabuguard.config import DEVELOPMENT_PEPPER
from kabuguard.db import Database
from kabuguard.notifications import bench as notification_bench
from kabuguard.notifications.kinds import Status
from kabuguard.notifications.models import OutboxRow
from kabuguard.replay import replay
from kabuguard.risk.policy import Policy
from kabuguard.simulate import bench as simulate_bench

TARGETS = {
    "replay_events_per_s": 20_000,
    "simulate_events_per_s": 200_000,
    "emails_per_s": 500,
    "http_decisions_per_s": 2_000,
    "http_p99_ms_at_500_per_s": 20.0,
    "login_decision_p99_ms": 2.0,
    "order_decision_p99_ms": 2.0,
}


@dataclass(frozen=True, slots=True)
class BenchOptions:
    out_dir: Path
    seconds: float = 10.0
    warmup: float = 2.0
    connections: int = 32
    replay_events: int = 200_000
    simulate_customers: int = 20_000
    simulate_days: int = 7
    emails: int = 2_000
    outbox_events: int = 5_000
    login_customers: int = 3_000
    login_days: int = 14
    orders: int = 5_000
    database_url: str | None = None
    # Each HTTP measurement is repeated and the median run reported: on a small shared VM a
    # single run can be off by tens of per cent.
    repeat: int = 3


def run(options: BenchOptions) -> dict[str, Any]:
    options.out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "targets": TARGETS,
    }
    results["replay"] = bench_replay(options)
    results["simulate"] = simulate_bench.measure(
        options.simulate_customers, options.simulate_days, seed=1
    )
    results["notifications"] = {
        "smtp": notification_bench.measure_smtp(options.emails),
        "outbox": notification_bench.measure_outbox(options.outbox_events),
    }
    results["auth"] = auth_bench.measure()
    results["decisions"] = {
        "login": measure_login_decisions(options.login_customers, options.login_days),
        "order": measure_order_decisions(options.orders),
    }
    results["http"] = bench_http(options)
    echo_runs = bench_echo(options)
    results["echo"] = asdict(_median(echo_runs, by="throughput_per_s"))
    results["echo_runs"] = [asdict(run) for run in echo_runs]
    decisions = results["http"]["closed_loop"]["throughput_per_s"]
    results["engine_to_echo_ratio"] = round(decisions / results["echo"]["throughput_per_s"], 3)
    results["verdict"] = {
        "replay_events_per_s": results["replay"]["events_per_s"] >= TARGETS["replay_events_per_s"],
        "simulate_events_per_s": results["simulate"]["events_per_s"]
        >= TARGETS["simulate_events_per_s"],
        "emails_per_s": results["notifications"]["smtp"]["emails_per_s"] >= TARGETS["emails_per_s"],
        "http_decisions_per_s": decisions >= TARGETS["http_decisions_per_s"],
        "http_p99_ms_at_500_per_s": results["http"]["open_loop_500"]["p99_ms"]
        <= TARGETS["http_p99_ms_at_500_per_s"],
        "login_decision_p99_ms": results["decisions"]["login"]["cpu_p99_ms"]
        <= TARGETS["login_decision_p99_ms"],
        "order_decision_p99_ms": results["decisions"]["order"]["p99_ms"]
        <= TARGETS["order_decision_p99_ms"],
    }
    (options.out_dir / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def bench_replay(options: BenchOptions) -> dict[str, Any]:
    source = options.out_dir / "replay-input.jsonl"
    with source.open("wb") as handle:
        for document in workload.events(options.replay_events, prefix="replay"):
            handle.write(orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE))
    sink = io.BytesIO()
    started = time.perf_counter()
    with source.open("rb") as lines:
        summary = replay(lines, sink, Policy.default())
    elapsed = time.perf_counter() - started
    return {
        "events": summary.events,
        "bad_lines": summary.bad_lines,
        "seconds": round(elapsed, 3),
        "events_per_s": round(summary.events / elapsed),
        "outcomes": dict(summary.outcomes),
    }


def bench_http(options: BenchOptions) -> dict[str, Any]:
    database_url = options.database_url or f"sqlite:///{options.out_dir / 'bench.db'}"
    if options.database_url is None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{options.out_dir / 'bench.db'}{suffix}").unlink(missing_ok=True)
    migrations.upgrade(database_url)
    token = _create_key(database_url)
    env = {"KABUGUARD_DATABASE_URL": database_url, "KABUGUARD_LOG_LEVEL": "WARNING"}
    headers = {"Authorization": f"Bearer {token}"}
    closed: list[LoadResult] = []
    opened: list[LoadResult] = []
    waited: list[float] = []
    groups: dict[str, list[float | None]] = {"closed_loop": [], "open_loop_500": []}
    with _server([_kabuguard(), "serve"], env) as port:
        for _ in range(options.repeat):
            waited.append(_notices_delivered(database_url))
            with _mean_group(port, groups["closed_loop"]):
                closed.append(_load(port, "/v1/events", "closed", headers, options, rate=None))
            waited.append(_notices_delivered(database_url))
            with _mean_group(port, groups["open_loop_500"]):
                opened.append(_load(port, "/v1/events", "open", headers, options, rate=500.0))
    return {
        "database": "sqlite" if database_url.startswith("sqlite") else "postgresql",
        "repeat": options.repeat,
        "seconds_waited_for_notices": waited,
        "mean_group_commit_size": groups,
        "closed_loop": asdict(_median(closed, by="throughput_per_s")),
        "open_loop_500": asdict(_median(opened, by="p99_ms")),
        "closed_loop_runs": [asdict(run) for run in closed],
        "open_loop_500_runs": [asdict(run) for run in opened],
    }


@contextmanager
def _mean_group(port: int, sizes: list[float | None]) -> Iterator[None]:
    """Appends the mean number of events per group commit during the block (warm-up
    included), from the server's /metrics: how much the writer could share per transaction.
    None if the writer did not report its metrics in time, rather than a wrong figure."""
    before = _group_commits(port)
    yield
    after = _group_commits(port)
    if before is None or after is None or after[0] <= before[0]:
        sizes.append(None)
    else:
        sizes.append(round((after[1] - before[1]) / (after[0] - before[0]), 1))


def _group_commits(port: int) -> tuple[float, float] | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "kabuguard_group_commit_batch_size"
        for sample in family.samples
    }
    if not samples:
        return None
    return (
        samples["kabuguard_group_commit_batch_size_count"],
        samples["kabuguard_group_commit_batch_size_sum"],
    )


def _notices_delivered(database_url: str, limit_s: float = 60.0) -> float:
    """Wait until the server has delivered the notices due so far, and return how long that
    took. A closed-loop run leaves thousands behind, and delivering them would otherwise
    compete with the next run's decisions: each run starts from the same steady state."""
    database = Database(database_url)
    started = time.monotonic()
    try:
        while time.monotonic() - started < limit_s:
            now = datetime.now(UTC)
            with database.read() as session:
                due = session.scalar(
                    select(func.count())
                    .select_from(OutboxRow)
                    .where(OutboxRow.status == Status.PENDING.value)
                    # Claimed rows are due again only when their lease ends: being delivered.
                    .where(or_(OutboxRow.next_attempt_at <= now, OutboxRow.claimed_until > now))
                )
            if not due:
                break
            time.sleep(0.2)
    finally:
        database.dispose()
    return round(time.monotonic() - started, 1)


def bench_echo(options: BenchOptions) -> list[LoadResult]:
    command = [
        sys.executable, "-m", "uvicorn", "kabuguard.bench.echo:app",
        "--http", "httptools", "--loop", "uvloop", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    with _server(command, {}, ready_path="/docs") as port:
        return [_load(port, "/echo", "echo", {}, options, rate=None) for _ in range(options.repeat)]


def _median(runs: list[LoadResult], *, by: str) -> LoadResult:
    """The run in the middle when ordered by `by` (the lower middle for an even count)."""
    ordered = sorted(runs, key=lambda run: float(getattr(run, by)))
    return ordered[(len(ordered) - 1) // 2]


def _load(
    port: int,
    path: str,
    prefix: str,
    headers: dict[str, str],
    options: BenchOptions,
    *,
    rate: float | None,
) -> LoadResult:
    templates = list(workload.events(2_000, prefix="t"))
    run_id = f"{prefix}-{time.time_ns()}"

    def body_for(index: int) -> bytes:
        document = templates[index % len(templates)] | {"event_id": f"{run_id}-{index}"}
        return orjson.dumps(document)

    return run_load(
        "127.0.0.1",
        port,
        path,
        body_for,
        headers=headers,
        connections=options.connections if rate is None else 16,
        duration_s=options.seconds,
        warmup_s=options.warmup,
        rate_per_s=rate,
    )


def _create_key(database_url: str) -> str:
    database = Database(database_url)
    try:
        with database.write() as session:
            return apikeys.create(
                session,
                name=f"bench-{time.time_ns()}",
                scopes=DEFAULT_SCOPES,
                pepper=os.environ.get("KABUGUARD_API_KEY_PEPPER", DEVELOPMENT_PEPPER).encode(),
                actor="bench",
                at=datetime.now(UTC),
            )
    finally:
        database.dispose()


def _kabuguard() -> str:
    return str(Path(sys.executable).parent / "kabuguard")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _server(command: list[str], env: dict[str, str], ready_path: str = "/readyz") -> Iterator[int]:
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 (our own entry points, no shell)
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=os.environ | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_ready(port, ready_path, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(port: int, path: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"the benchmark server exited early:\n{stderr}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the benchmark server did not become ready within 30 s")
