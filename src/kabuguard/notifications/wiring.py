"""Building the notification parts from Settings: for `serve`, `dispatch` and the CLI."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.notifications.channels.inbox import InboxChannel
from kabuguard.notifications.channels.smtp import SmtpChannel, SmtpConfig
from kabuguard.notifications.channels.webhook import WebhookChannel
from kabuguard.notifications.crypto import FieldCipher, decode_key
from kabuguard.notifications.dispatcher import Dispatcher, RetryPolicy
from kabuguard.notifications.interfaces import Channel
from kabuguard.notifications.kinds import ChannelKind
from kabuguard.notifications.outbox import Outbox
from kabuguard.notifications.planner import NoticePlanner
from kabuguard.notifications.rendering import Broker, Renderer


def cipher_from(settings: Settings) -> FieldCipher:
    previous = [decode_key(key.get_secret_value()) for key in settings.previous_data_keys]
    return FieldCipher(decode_key(settings.data_key.get_secret_value()), previous)


def configured_channels(settings: Settings) -> frozenset[ChannelKind]:
    """The external channels that have settings; the inbox is always there."""
    configured = {
        ChannelKind.EMAIL: settings.smtp_host,
        ChannelKind.SMS: settings.sms_webhook_url,
        ChannelKind.PUSH: settings.push_webhook_url,
    }
    return frozenset({kind for kind, value in configured.items() if value} | {ChannelKind.INBOX})


def build_channels(
    settings: Settings, database: Database, clock: Callable[[], datetime]
) -> dict[ChannelKind, Channel]:
    channels: dict[ChannelKind, Channel] = {ChannelKind.INBOX: InboxChannel(database, clock)}
    if settings.smtp_host:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        channels[ChannelKind.EMAIL] = SmtpChannel(
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                tls=settings.smtp_tls,
                username=settings.smtp_username,
                password=password,
                timeout=settings.smtp_timeout_seconds,
                sender=settings.mail_from,
                sender_name=settings.mail_from_name or settings.broker_name,
            )
        )
    secret = settings.webhook_secret.get_secret_value().encode() if settings.webhook_secret else b""
    for kind, url in (
        (ChannelKind.SMS, settings.sms_webhook_url),
        (ChannelKind.PUSH, settings.push_webhook_url),
    ):
        if url:
            timeout = settings.webhook_timeout_seconds
            channels[kind] = WebhookChannel(url, secret, timeout=timeout, clock=clock)
    return channels


def build_dispatcher(
    settings: Settings, database: Database, clock: Callable[[], datetime]
) -> Dispatcher:
    broker = Broker(settings.broker_name, settings.broker_phone, settings.public_base_url)
    return Dispatcher(
        Outbox(database, clock),
        build_channels(settings, database, clock),
        Renderer(broker),
        cipher_from(settings),
        clock=clock,
        policy=RetryPolicy(
            settings.dispatch_max_attempts,
            settings.dispatch_backoff_base_seconds,
            settings.dispatch_backoff_cap_seconds,
        ),
        batch_size=settings.dispatch_batch_size,
        lease=timedelta(seconds=settings.dispatch_lease_seconds),
    )


def build_planner(settings: Settings, on_enqueued: Callable[[], None]) -> NoticePlanner:
    return NoticePlanner(
        cipher_from(settings),
        channels=configured_channels(settings),
        optional_defaults=settings.notify_optional_defaults,
        on_enqueued=on_enqueued,
    )


class DispatcherThread:
    """The dispatcher inside `serve`: woken when decisions enqueue messages, else polling."""

    def __init__(
        self, dispatcher: Dispatcher, poll_seconds: float, gather_seconds: float = 0.0
    ) -> None:
        self.wake = threading.Event()
        self._dispatcher = dispatcher
        self._poll_seconds = poll_seconds
        self._gather_seconds = gather_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._dispatcher.run,
            args=(self._stop, self.wake, self._poll_seconds, self._gather_seconds),
            name="kabuguard-dispatcher",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Finish the message in flight, then end the thread."""
        if self._thread is not None:
            self._stop.set()
            self.wake.set()
            self._thread.join()
            self._thread = None
