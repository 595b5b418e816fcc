"""Delivery after commit: claim due outbox rows, then render, send and record them in order.

Each message's outcome is committed before the next message is handed over to its receiver,
so a dispatcher killed at any point leaves at most one message sent but not recorded; it is
sent again, byte for byte the same, once its lease has passed (at-least-once transport, see
docs/notifications.md). Recording and rendering happen while the SMTP server works on the
next message's commands (pipeline.py). Messages for a local channel (the inbox) are delivered
first, all of a batch in the one transaction that records them (exactly once).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.exc import SQLAlchemyError

from kabuguard.notifications.contacts import contact_context
from kabuguard.notifications.crypto import FieldCipher, UndecryptableValue
from kabuguard.notifications.interfaces import (
    Channel,
    LocalChannel,
    OutboundMessage,
    PermanentFailure,
    StagedChannel,
    TransientFailure,
    Turn,
)
from kabuguard.notifications.kinds import ChannelKind
from kabuguard.notifications.outbox import Claimed, Outbox
from kabuguard.notifications.pipeline import Interrupted, Pipeline
from kabuguard.notifications.planner import freeze_context, freeze_token
from kabuguard.notifications.rendering import Renderer

log = logging.getLogger(__name__)

Prepared = OutboundMessage | Exception  # a message, or why it could not be made


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 12
    base_seconds: float = 5.0
    cap_seconds: float = 900.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter: uniform in [0, min(cap, base · 2^(n-1))]."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** min(attempt - 1, 30))
        return rng.uniform(0, ceiling)


@dataclass(frozen=True, slots=True)
class Report:
    delivered: int = 0
    retried: int = 0
    dead: int = 0

    def __add__(self, other: Report) -> Report:
        return Report(
            self.delivered + other.delivered, self.retried + other.retried, self.dead + other.dead
        )

    @property
    def handled(self) -> int:
        return self.delivered + self.retried + self.dead


class Dispatcher:
    def __init__(
        self,
        outbox: Outbox,
        channels: Mapping[ChannelKind, Channel],
        renderer: Renderer,
        cipher: FieldCipher,
        *,
        clock: Callable[[], datetime],
        policy: RetryPolicy = RetryPolicy(),
        batch_size: int = 100,
        lease: timedelta = timedelta(minutes=2),
        rng: random.Random | None = None,
    ) -> None:
        self._outbox = outbox
        self._channels = channels
        self._staged = {k: c for k, c in channels.items() if isinstance(c, StagedChannel)}
        self._local = {k: c for k, c in channels.items() if isinstance(c, LocalChannel)}
        self._renderer = renderer
        self._cipher = cipher
        self._clock = clock
        self._policy = policy
        self._batch_size = batch_size
        self._lease = lease
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)

    def run_once(self) -> Report:
        """Claim one batch of due messages and handle each of them, in order."""
        claimed = self._outbox.claim(self._batch_size, self._lease)
        local = [item for item in claimed if item.channel in self._local]
        report = self._deliver_locally(local)
        remote = [item for item in claimed if item.channel not in self._local]
        batch: Pipeline[Claimed, Prepared, Report] = Pipeline(remote, self._prepare)
        for index, item in enumerate(remote):
            if self._clock() >= item.lease:
                break  # the lease ran out: another dispatcher may own the rest now
            batch.finish(self._handle(item, batch.start(index), batch))
        batch.settle()
        return sum(batch.results, report)

    def drain(self) -> Report:
        """Handle everything due now, batch after batch, then return (`dispatch --once`)."""
        total = Report()
        while (report := self.run_once()).handled:
            total += report
        return total

    def run(
        self,
        stop: threading.Event,
        wake: threading.Event,
        poll_seconds: float,
        gather_seconds: float = 0.0,
    ) -> None:
        """Until `stop` is set: deliver what is due, then sleep until woken or polled.

        After a part batch it waits `gather_seconds` before claiming again, so the messages
        of the decisions meanwhile share one claim and one transaction: claimed one or two at
        a time, they took turns with the decisions on SQLite's writer lock (measured)."""
        while not stop.is_set():
            wake.clear()  # before claiming: a wake-up during the claim is not lost
            try:
                handled = self.run_once().handled
            except Exception:  # the database may be away for a while; keep the loop alive
                log.exception("dispatching notifications failed; trying again")
                handled = 0
            if not handled:
                wake.wait(poll_seconds)
            elif handled < self._batch_size:
                stop.wait(gather_seconds)
        self.close()

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()

    def _deliver_locally(self, items: list[Claimed]) -> Report:
        """Each local channel's messages in one transaction with their records."""
        report = Report()
        ready: dict[ChannelKind, list[tuple[Claimed, OutboundMessage]]] = {}
        for item in items:
            if self._clock() >= item.lease:
                break  # as in the pipeline: the rest may belong to another dispatcher now
            if (exhausted := self._exhausted(item)) is not None:
                report += self._dead(item, exhausted)
            elif isinstance(prepared := self._prepare(item), Exception):
                report += self._failure(item, prepared)
            else:
                ready.setdefault(item.channel, []).append((item, prepared))
        for kind, pairs in ready.items():
            report += self._store(kind, pairs)
        return report

    def _store(self, kind: ChannelKind, pairs: list[tuple[Claimed, OutboundMessage]]) -> Report:
        """Deliver and record `pairs` in one transaction; should it fail, each message in a
        transaction of its own, so one bad message costs only itself an attempt."""
        try:
            self._outbox.deliver_locally(
                [item for item, _ in pairs],
                partial(self._local[kind].deliver_in, messages=[m for _, m in pairs]),
            )
        except Exception as error:  # the dispatcher must survive to deliver the rest
            if len(pairs) > 1:
                return sum((self._store(kind, [pair]) for pair in pairs), Report())
            reason = f"{kind.value} unavailable: {type(error).__name__}"
            if isinstance(error, SQLAlchemyError):
                return self._failure(pairs[0][0], TransientFailure(reason))
            return self._failure(pairs[0][0], error)
        return Report(delivered=len(pairs))

    def _failure(self, item: Claimed, error: Exception) -> Report:
        """Record why `item` was not delivered: dead, or due again later."""
        if isinstance(error, PermanentFailure):
            return self._dead(item, error.reason)
        if isinstance(error, TransientFailure):
            return self._later(item, error.reason, error.retry_after)
        log.error("delivering outbox message %d failed", item.id, exc_info=error)
        return self._later(item, f"unexpected error: {type(error).__name__}", None)

    def _handle(self, item: Claimed, prepared: Prepared, turn: Turn) -> Callable[[], Report]:
        """Send one message; return how to record its outcome (the pipeline does it later, but
        before the next message is handed over)."""
        if (exhausted := self._exhausted(item)) is not None:
            return partial(self._dead, item, exhausted)
        try:
            if isinstance(prepared, Exception):
                raise prepared
            self._send(item.channel, prepared, turn)
        except Interrupted:
            raise  # our own recording failed, not this message
        except Exception as error:  # a bug must cost one message a retry, not the dispatcher
            return partial(self._failure, item, error)
        return partial(self._delivered, item)

    def _exhausted(self, item: Claimed) -> str | None:
        """Why `item` gets no further attempt: claimed that often already, each time by a
        process that died before recording an outcome. None while it may still be tried."""
        if item.attempts > self._policy.max_attempts:
            return f"gave up after {item.attempts - 1} attempts"
        return None

    def _prepare(self, item: Claimed) -> Prepared:
        try:
            return self._message(item)
        except Exception as error:  # handled (and logged if unexpected) in its turn: _handle
            return error

    def _message(self, item: Claimed) -> OutboundMessage:
        try:
            recipient = (
                self._cipher.decrypt(
                    item.recipient, context=contact_context(item.customer_id, item.channel)
                )
                if item.recipient is not None
                else item.customer_id
            )
            secret = (
                self._cipher.decrypt(
                    item.freeze_secret, context=freeze_context(item.idempotency_key)
                )
                if item.freeze_secret is not None
                else None
            )
        except UndecryptableValue as error:
            raise PermanentFailure(f"cannot decrypt: {error}") from None
        token = freeze_token(item.idempotency_key, secret) if secret is not None else None
        rendered = self._renderer.render(item.kind, item.locale, item.context, item.channel, token)
        return OutboundMessage(
            idempotency_key=item.idempotency_key,
            channel=item.channel,
            customer_id=item.customer_id,
            recipient=recipient,
            kind=item.kind,
            locale=item.locale,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            created_at=item.created_at,
            occurred_at=datetime.fromisoformat(item.context["occurred_at"]),
        )

    def _send(self, kind: ChannelKind, message: OutboundMessage, turn: Turn) -> None:
        staged = self._staged.get(kind)
        if staged is not None:
            staged.send_staged(message, turn)
            return
        channel = self._channels.get(kind)
        if channel is None:
            raise PermanentFailure(f"the {kind.value} channel is not configured")
        turn.handover()  # nothing to do before the receiver can have it
        channel.send(message)

    def _delivered(self, item: Claimed) -> Report:
        self._outbox.delivered(item)
        return Report(delivered=1)

    def _later(self, item: Claimed, reason: str, retry_after: float | None) -> Report:
        if item.attempts >= self._policy.max_attempts:
            return self._dead(item, f"{reason} (after {item.attempts} attempts)")
        delay = max(self._policy.delay(item.attempts, self._rng), retry_after or 0.0)
        self._outbox.failed(item, reason, retry_at=self._clock() + timedelta(seconds=delay))
        return Report(retried=1)

    def _dead(self, item: Claimed, reason: str) -> Report:
        log.warning("notification dead-lettered", extra={"outbox_id": item.id, "reason": reason})
        self._outbox.failed(item, reason, retry_at=None)
        return Report(dead=1)
