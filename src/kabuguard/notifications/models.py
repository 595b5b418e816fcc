"""ORM models: the outbox, the in-app inbox, and each customer's notification profile."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kabuguard.db import Base, UTCDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")


class OutboxRow(Base):
    """One message for one recipient on one channel, written with the decision that caused it."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_notification_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    # sha256(event id, kind, channel, recipient digest): the receiver's deduplication key.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    event_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(48))
    locale: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str | None] = mapped_column(Text)  # encrypted; None: the customer id
    context: Mapped[str] = mapped_column(Text)  # JSON facts for the templates, rendered late
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The "this wasn't me" link is `<idempotency key>.<secret>`: the row is found by its key
    # (no second random index to maintain on the decision path), the secret checked against
    # its SHA-256. The secret itself is kept encrypted until delivery, then erased.
    freeze_digest: Mapped[str | None] = mapped_column(String(64))
    freeze_secret: Mapped[str | None] = mapped_column(Text)
    freeze_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InboxRow(Base):
    """A message in the customer's in-app inbox (the security centre shows it)."""

    __tablename__ = "notification_inbox"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    locale: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProfileRow(Base):
    """Contacts, preferences and login memory of one customer: one row, read once per batch."""

    __tablename__ = "notification_profiles"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    email: Mapped[str | None] = mapped_column(Text)  # encrypted
    email_digest: Mapped[str | None] = mapped_column(String(64))  # keyed HMAC
    phone: Mapped[str | None] = mapped_column(Text)  # encrypted, E.164
    phone_digest: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    enabled: Mapped[str] = mapped_column(Text)  # JSON list of optional kinds turned on
    disabled: Mapped[str] = mapped_column(Text)  # JSON list of optional kinds turned off
    devices: Mapped[str] = mapped_column(Text)  # JSON list of known device digests, newest last
    login_session: Mapped[str | None] = mapped_column(String(128))  # last login notified
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
