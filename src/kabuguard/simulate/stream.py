"""Time-sorted output with bounded memory: events wait in five-minute buckets until written.

Generators add events (time, body, label) in any order, as long as none is earlier than the
window being generated. The run writes a bucket once nothing can land in it any more: its
events are sorted stably by time (ties keep generation order, so the output is deterministic),
numbered and handed to a writer thread with their labels. Memory holds the windows not yet
written (mostly the current one), never the run.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from dataclasses import dataclass, field
from operator import add
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

WINDOW = 300
_ID = '{"event_id":"e%09d",'


class StreamOrderError(RuntimeError):
    """An event was added to a window already written: a simulator bug."""


@dataclass(slots=True)
class _Bucket:
    times: list[int] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


class _BackgroundWriter:
    """Writes finished windows on a thread.

    The copy into the file system then overlaps with generating the next windows (a file write
    releases the GIL). The queue is bounded, so memory stays flat when the disk is slower than
    the simulator. A write error is raised in the simulating thread at its next put or close.
    """

    def __init__(self, events: BinaryIO, labels: BinaryIO) -> None:
        self._queue: queue.Queue[tuple[bytes, bytes] | None] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(events, labels), daemon=True)
        self._thread.start()

    def put(self, events: bytes, labels: bytes) -> None:
        self._raise()
        self._queue.put((events, labels))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._raise()

    def _run(self, events: BinaryIO, labels: BinaryIO) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:  # after an error, keep draining so no put blocks
                try:
                    events.write(chunk[0])
                    labels.write(chunk[1])
                except BaseException as error:
                    self._error = error

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


class EventStream:
    def __init__(self, events: BinaryIO, labels: BinaryIO) -> None:
        self._writer = _BackgroundWriter(events, labels)
        self._buckets: dict[int, _Bucket] = {}
        self._written_below = 0  # windows below this index are on disk
        self.count = 0
        self.label_counts: Counter[str] = Counter()

    def _bucket(self, t: int) -> _Bucket:
        window = t // WINDOW
        found = self._buckets.get(window)
        if found is None:
            if window < self._written_below:
                raise StreamOrderError(f"event at t={t} is earlier than the written output")
            found = self._buckets[window] = _Bucket()
        return found

    def emit(self, t: int, body: str, label: str) -> None:
        bucket = self._bucket(t)
        bucket.times.append(t)
        bucket.bodies.append(body)
        bucket.labels.append(label)

    def add(self, times: npt.NDArray[np.int64], bodies: list[str], labels: list[str]) -> None:
        """Many events at once (the columns line up)."""
        if not bodies:
            return
        moments = times.tolist()
        if min(moments) // WINDOW == max(moments) // WINDOW:
            bucket = self._bucket(moments[0])
            bucket.times.extend(moments)
            bucket.bodies.extend(bodies)
            bucket.labels.extend(labels)
            return
        for t, body, label in zip(moments, bodies, labels, strict=True):
            self.emit(t, body, label)

    def flush_before(self, t: int) -> None:
        """Write every window that ends at or before `t`."""
        end = t // WINDOW
        for window in sorted(w for w in self._buckets if w < end):
            self._write(self._buckets.pop(window))
        self._written_below = max(self._written_below, end)

    def close(self) -> None:
        """Write what is left and wait for the writer."""
        for window in sorted(self._buckets):
            self._write(self._buckets.pop(window))
        self._writer.close()

    def _write(self, bucket: _Bucket) -> None:
        order = np.argsort(np.array(bucket.times), kind="stable").tolist()
        bodies = map(bucket.bodies.__getitem__, order)
        labels = list(map(bucket.labels.__getitem__, order))
        ids = list(map(_ID.__mod__, range(self.count, self.count + len(order))))
        self.count += len(order)
        self._writer.put(
            ("\n".join(map(add, ids, bodies)) + "\n").encode(),
            ("\n".join(map(add, ids, labels)) + "\n").encode(),
        )
        self.label_counts.update(labels)
