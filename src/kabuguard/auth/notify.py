"""Security notices from the auth layer, written into the notification outbox (issue 7's).

Two messages are not decisions of the engine, so the decision transaction's planner never
writes them: the e-mail one-time code, and "password login is paused". Both are written here
as ordinary outbox rows, with the outbox's own helpers (idempotency key, sealed recipient,
one-time "this wasn't me" link), and the dispatcher renders and delivers them after commit
like any other notice. The code travels as the notice's caution line of a step-up notice, so
it reads: "additional verification requested … your code is 123456, valid until 10:05 —
if this was not you, do not tell anyone the code", with the freeze link below it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert

from kabuguard.db import Database
from kabuguard.notifications.contacts import Profile, Sealed, load_profiles
from kabuguard.notifications.crypto import FieldCipher
from kabuguard.notifications.kinds import ChannelKind, NoticeKind, Status
from kabuguard.notifications.models import OutboxRow
from kabuguard.notifications.planner import (
    freeze_context,
    freeze_digest,
    idempotency_key,
)
from kabuguard.risk.rules import JST


class OutboxNotices:
    """The auth layer's CodeSender and lockout notifier, over the notification outbox."""

    def __init__(
        self,
        database: Database,
        cipher: FieldCipher,
        channels: frozenset[ChannelKind],
        on_enqueued: Callable[[], None],
    ) -> None:
        self._db = database
        self._cipher = cipher
        self._channels = channels | {ChannelKind.INBOX}
        self._on_enqueued = on_enqueued

    def send_code(
        self, customer_id: str, code: str, *, now: datetime, expires_at: datetime, ip: str | None
    ) -> bool:
        until = expires_at.astimezone(JST).strftime("%H:%M")
        caution = {
            "ja": f"確認コード: {code}（{until} まで有効）。ご自身の操作でなければ、"
            "このコードを誰にも伝えず、入力もしないでください。",
            "en": f"Your code: {code} (valid until {until} JST). If this was not you, do not "
            "give this code to anyone or enter it anywhere.",
        }
        facts = {"outcome": "challenge", "factor": "email_otp", "reasons": [caution]}
        return self._write(
            customer_id,
            NoticeKind.LOGIN_STEP_UP_REQUESTED,
            facts,
            ip,
            now,
            only=ChannelKind.EMAIL,
        )

    def password_paused(
        self, customer_id: str, *, until: datetime, ip: str | None, now: datetime
    ) -> bool:
        at = until.astimezone(JST).strftime("%Y-%m-%d %H:%M")
        caution = {
            "ja": f"パスワードの入力誤りが続いたため、{at} までパスワードでのログインを止めて"
            "います。パスキーでのログインはこの間もご利用いただけます。",
            "en": f"After repeated wrong passwords, password login is paused until {at} JST. "
            "Logging in with a passkey still works meanwhile.",
        }
        facts = {"outcome": "deny", "reasons": [caution]}
        return self._write(customer_id, NoticeKind.LOGIN_ATTEMPT_REFUSED, facts, ip, now)

    def _write(
        self,
        customer_id: str,
        kind: NoticeKind,
        facts: dict[str, Any],
        ip: str | None,
        at: datetime,
        *,
        only: ChannelKind | None = None,
    ) -> bool:
        """Queue one row per channel; False when the customer has no address for `only`."""
        message_id = f"auth-{secrets.token_hex(12)}"
        context = facts | {"occurred_at": at.isoformat()} | ({"ip": ip} if ip else {})
        with self._db.write() as session:
            connection = session.connection()
            profile = load_profiles(connection, [customer_id]).get(customer_id)
            rows = [
                self._row(
                    message_id,
                    customer_id,
                    kind,
                    channel=channel,
                    sealed=sealed,
                    context=context,
                    profile=profile,
                    at=at,
                )
                for channel, sealed in self._targets(profile, customer_id, only)
            ]
            if rows:
                connection.execute(insert(OutboxRow), rows)
        if rows:
            self._on_enqueued()
        return bool(rows)

    def _targets(
        self, profile: Profile | None, customer_id: str, only: ChannelKind | None
    ) -> list[tuple[ChannelKind, Sealed | None]]:
        wanted = [only] if only else sorted(self._channels)
        targets: list[tuple[ChannelKind, Sealed | None]] = []
        for channel in wanted:
            if channel not in self._channels:  # an unconfigured channel would dead-letter
                continue
            if channel in (ChannelKind.EMAIL, ChannelKind.SMS):
                sealed = profile.contact(channel) if profile else None
                if sealed is not None:
                    targets.append((channel, sealed))
            else:
                targets.append((channel, None))
        return targets

    def _row(
        self,
        message_id: str,
        customer_id: str,
        kind: NoticeKind,
        *,
        channel: ChannelKind,
        sealed: Sealed | None,
        context: dict[str, Any],
        profile: Profile | None,
        at: datetime,
    ) -> dict[str, Any]:
        recipient = sealed.digest if sealed else customer_id
        key = idempotency_key(message_id, kind, channel, recipient, at)
        digest, secret = None, None
        if channel is ChannelKind.EMAIL:  # the "this wasn't me" link, e-mail only (COMMS-1)
            raw = secrets.token_urlsafe(32)
            digest = freeze_digest(raw)
            secret = self._cipher.encrypt(raw, context=freeze_context(key))
        return {
            "idempotency_key": key,
            "event_id": message_id,
            "customer_id": customer_id,
            "channel": channel.value,
            "kind": kind.value,
            "locale": (profile.locale.value if profile else "ja"),
            "recipient": sealed.ciphertext if sealed else None,
            "context": orjson.dumps(context).decode(),
            "status": Status.PENDING.value,
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
            "freeze_digest": digest,
            "freeze_secret": secret,
        }
