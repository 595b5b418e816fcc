"""`kabuguard writer` as a child of the server: started, watched, restarted, stopped (ADR 0008).

The child gets its own session, so a Ctrl+C at the terminal reaches the server alone, which
then stops the child in order: the child decides and answers what it holds, then exits. It
also exits when its standard input closes, so a server killed outright leaves no writer
behind. Should it exit while the server runs, it is started again (events meanwhile get
`503 storage_unavailable`, and their retries are idempotent).
"""

from __future__ import annotations

import logging
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time

log = logging.getLogger(__name__)

READY = b"ready"
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
    def __init__(self, arguments: list[str] | None = None, command: list[str] | None = None):
        """`arguments` go to `kabuguard writer` after the socket's."""
        self._command = [*(command or writer_command()), *(arguments or [])]
        self._directory = tempfile.mkdtemp(prefix="kabuguard-writer-")  # mode 0700
        self.socket_path = os.path.join(self._directory, "writer.sock")
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # `_process` and `_stopping` change together
        self._stopping = False
        self._stopped = threading.Event()
        self._watcher: threading.Thread | None = None
        self.restarts = 0

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
            self._stopping = True
            process = self._process
        self._stopped.set()
        if process is not None:
            _end(process)
        if self._watcher is not None:
            self._watcher.join(timeout=_STOP_SECONDS)
        shutil.rmtree(self._directory, ignore_errors=True)

    @property
    def alive(self) -> bool:
        """Whether a writer process is running (it may still be starting)."""
        with self._lock:
            return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._process.pid if self._process is not None else None

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping:
                raise WriterFailed("the server is stopping")
            if os.path.exists(self.socket_path):
                os.unlink(self.socket_path)
            process = subprocess.Popen(  # noqa: S603 (our own entry point, no shell)
                [*self._command, "--socket", self.socket_path, "--exit-with-stdin"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,
            )
            self._process = process
        if not _became_ready(process):
            _end(process)
            raise WriterFailed(f"the decision writer did not start (exit code {process.poll()})")

    def _watch(self) -> None:
        failures = 0
        ready_at = time.monotonic()
        while True:
            with self._lock:
                process = self._process
            assert process is not None
            code = process.wait()
            if self._stopped.is_set():
                return
            # A writer that ran a while had recovered: only quick failures back off further.
            stable = time.monotonic() - ready_at > _STABLE_SECONDS
            failures = 0 if stable else failures + 1
            delay = _RESTART_DELAYS[min(failures, len(_RESTART_DELAYS) - 1)]
            log.error("the decision writer exited with code %s; restarting in %.1f s", code, delay)
            if self._stopped.wait(delay):
                return
            ready_at = time.monotonic()  # a failed start is a quick failure too
            try:
                self._spawn()
            except Exception:  # WriterFailed, or no process to be had (EMFILE, EAGAIN)
                if not self._stopped.is_set():
                    log.exception("starting the decision writer again failed")
                continue
            self.restarts += 1


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        log.error("the decision writer did not stop in %.0f s; killed", _STOP_SECONDS)
        process.kill()
        process.wait()


def _became_ready(process: subprocess.Popen[bytes]) -> bool:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], _READY_SECONDS)
    return bool(ready) and process.stdout.readline().strip() == READY
