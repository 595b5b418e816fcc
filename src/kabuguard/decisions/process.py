"""`kabuguard writer` as a child of the server: started, watched, restarted, stopped (ADR 0008).

The server stops the child by closing the child's standard input: the child then decides
and answers what it holds, and exits. So a server killed outright leaves no writer behind
either. The child gets its own session, so a Ctrl+C at the terminal reaches the server
alone, and it ignores SIGTERM, so a service manager that signals every process at once
(systemd's default) still gets the server's ordered stop. Should the child exit while the
server runs, it is started again (events meanwhile get `503 storage_unavailable`, and their
retries are idempotent).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

log = logging.getLogger(__name__)

# The ready line names the wire protocol (remote.py): a writer of another release, started
# after the package was upgraded in place under a running server, is refused as a failed
# start instead of misreading the server's frames.
READY = b"ready kabuguard-writer/2"
_READY_SECONDS = 120.0  # the network data and the policy load first
_STOP_SECONDS = 60.0
_RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
_STABLE_SECONDS = 60.0


class WriterFailed(RuntimeError):
    """The writer process did not become ready."""


def writer_command() -> list[str]:
    # -P: never import a `kabuguard` from the working directory in place of the installed one.
    return [sys.executable, "-P", "-m", "kabuguard", "writer"]


class WriterProcess:
    def __init__(self, arguments: list[str]) -> None:
        """`arguments` go to `kabuguard writer` beside the socket's."""
        self._command = [*writer_command(), *arguments]
        self._directory = tempfile.mkdtemp(prefix="kabuguard-writer-")  # mode 0700
        self.socket_path = os.path.join(self._directory, "writer.sock")
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # `_process` and `_stopped` change together
        self._stopped = threading.Event()
        self._ready = threading.Event()  # listening: set at its ready line, cleared at its exit
        self._watcher: threading.Thread | None = None
        self.restarts = 0
        self.exits = 0  # while the server ran: crashes, kills, out of memory

    def start(self) -> None:
        """Start the writer and wait until it listens; raises WriterFailed if it does not."""
        self._spawn()
        self._watcher = threading.Thread(
            target=self._watch, name="kabuguard-writer-watch", daemon=True
        )
        self._watcher.start()

    def stop(self) -> None:
        """Let the writer finish what it holds, then end it; remove its socket. No writer is
        started after this begins."""
        with self._lock:
            self._stopped.set()
            process = self._process
        if process is not None:
            _end(process)
        if self._watcher is not None:
            self._watcher.join(timeout=_STOP_SECONDS)
        shutil.rmtree(self._directory, ignore_errors=True)

    @property
    def ready(self) -> bool:
        """Whether a writer is listening (not while one is being started again)."""
        return self._ready.is_set()

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._process.pid if self._process is not None else None

    def _spawn(self) -> None:
        with self._lock:
            if self._stopped.is_set():
                raise WriterFailed("the server is stopping")
            # Again each time: a /tmp cleaner may have removed it during a long run.
            os.makedirs(self._directory, mode=0o700, exist_ok=True)
            if os.path.exists(self.socket_path):
                os.unlink(self.socket_path)
            process = subprocess.Popen(  # noqa: S603 (our own entry point, no shell)
                [*self._command, "--socket", self.socket_path],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,
            )
            self._process = process
        said = _ready_line(process)
        if said != READY:
            _end(process)
            raise WriterFailed(
                f"the decision writer did not start (it said {said!r}, exit code "
                f"{process.poll()}); after an upgrade, restart `kabuguard serve`"
            )
        self._ready.set()

    def _watch(self) -> None:
        failures = 0
        ready_at = time.monotonic()
        counted: subprocess.Popen[bytes] | None = None  # a failed restart leaves the old one
        while True:
            with self._lock:
                process = self._process
            assert process is not None
            code = process.wait()
            self._ready.clear()
            if self._stopped.is_set():
                return
            if process is not counted:
                self.exits += 1
                counted = process
            # A writer that ran a while had recovered: only quick failures back off further.
            stable = time.monotonic() - ready_at > _STABLE_SECONDS
            failures = 0 if stable else failures + 1
            delay = _RESTART_DELAYS[min(failures, len(_RESTART_DELAYS) - 1)]
            log.error("the decision writer exited with code %s; restarting in %.1f s", code, delay)
            if self._stopped.wait(delay):
                return
            try:
                self._spawn()
            except Exception:  # WriterFailed, or no process to be had (EMFILE, EAGAIN)
                if not self._stopped.is_set():
                    log.exception("starting the decision writer again failed")
                continue
            finally:
                ready_at = time.monotonic()  # a failed or slow start is a quick failure
            self.restarts += 1


class WriterCollector:
    """The writer process as the server sees it, for the server's /metrics."""

    def __init__(self, writer: WriterProcess) -> None:
        self._writer = writer

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "kabuguard_writer_up",
            "1 while the decision writer process listens; 0 while it is being started again.",
            value=1 if self._writer.ready else 0,
        )
        yield CounterMetricFamily(
            "kabuguard_writer_exits",
            "Times the decision writer process exited while the server ran.",
            value=self._writer.exits,
        )


def _end(process: subprocess.Popen[bytes]) -> None:
    """Close its standard input (it answers what it holds, then exits); kill it if it will
    not stop in time."""
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    try:
        process.wait(timeout=_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        log.error("the decision writer did not stop in %.0f s; killed", _STOP_SECONDS)
        process.kill()
        process.wait()


def _ready_line(process: subprocess.Popen[bytes]) -> bytes:
    """Its first line, or nothing if it said none in time."""
    assert process.stdout is not None
    waiting = select.poll()  # not select(): it fails on descriptors past 1,023
    waiting.register(process.stdout, select.POLLIN)
    if not waiting.poll(_READY_SECONDS * 1000):
        return b""
    return process.stdout.readline().strip()
