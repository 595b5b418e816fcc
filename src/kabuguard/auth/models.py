"""ORM models of customer authentication. Secrets are stored hashed or encrypted, never plain."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import Executable

from kabuguard.db import Base, UTCDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")
# WebAuthn caps a credential id at 1023 bytes: 1364 characters in base64url without padding.
CREDENTIAL_ID_CHARS = 1364


class AccountRow(Base):
    """One customer's credentials and the two consecutive-failure counters (password, factor)."""

    __tablename__ = "auth_accounts"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    user_handle: Mapped[str] = mapped_column(String(64), unique=True)  # WebAuthn user.id
    display_name: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(8))
    password_hash: Mapped[str | None] = mapped_column(Text)  # argon2id PHC string
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    password_failures: Mapped[int] = mapped_column(Integer)
    password_lockouts: Mapped[int] = mapped_column(Integer)
    password_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    factor_failures: Mapped[int] = mapped_column(Integer)
    factor_lockouts: Mapped[int] = mapped_column(Integer)
    factor_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_secret: Mapped[str | None] = mapped_column(Text)  # encrypted (AES-GCM)
    totp_pending: Mapped[str | None] = mapped_column(Text)  # encrypted, until confirmed
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # each code usable once
    self_lock: Mapped[str | None] = mapped_column(String(16))  # LockScope while locked
    # The latest self-lock, kept after the unlock: sessions begun before it stay ended.
    self_locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PasskeyRow(Base):
    __tablename__ = "auth_passkeys"

    credential_id: Mapped[str] = mapped_column(String(CREDENTIAL_ID_CHARS), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    public_key: Mapped[str] = mapped_column(Text)  # COSE key, base64url
    sign_count: Mapped[int] = mapped_column(BigInteger)
    transports: Mapped[str] = mapped_column(Text)  # JSON list
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ChallengeRow(Base):
    """A WebAuthn challenge: server-side, single use (used_at), expiring."""

    __tablename__ = "auth_challenges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str | None] = mapped_column(String(128))
    challenge: Mapped[str] = mapped_column(String(128))  # base64url
    subject: Mapped[str | None] = mapped_column(String(64))  # pending login or signing request
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PendingLoginRow(Base):
    """A login whose password step passed and whose second step is awaited."""

    __tablename__ = "auth_pending_logins"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the token
    customer_id: Mapped[str] = mapped_column(String(128))
    required: Mapped[str] = mapped_column(String(32))  # FactorClass
    # No passkey yet where one is required: any MFA opens a session that can only enrol one.
    enrol_only: Mapped[bool] = mapped_column(Boolean)
    device_id: Mapped[str] = mapped_column(String(256))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SessionRow(Base):
    """A server-side session bound to a device, remembering how and where it was authenticated."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    device_id: Mapped[str] = mapped_column(String(256))
    factor: Mapped[str] = mapped_column(String(32))
    factor_class: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(64))
    network: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    authenticated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The session_id its login steps carried to the engine; the broker tags later events with
    # it so the login's risk (sell-only, network) applies to them. None before migration 0006.
    event_session_id: Mapped[str | None] = mapped_column(String(128))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(64))


class ThrottleRow(Base):
    """Failures per source (IP, /24) in a fixed window, independent of any account."""

    __tablename__ = "auth_throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    window_ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class EmailCodeRow(Base):
    __tablename__ = "auth_email_codes"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    login_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str] = mapped_column(String(128))
    digest: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RecoveryCodeRow(Base):
    __tablename__ = "auth_recovery_codes"
    __table_args__ = (Index("ix_auth_recovery_codes_lookup", "customer_id", "digest"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128))
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SigningRequestRow(Base):
    """Exact details of an action the customer approves with a passkey (transaction signing)."""

    __tablename__ = "auth_signing_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON
    nonce: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    credential_id: Mapped[str | None] = mapped_column(String(CREDENTIAL_ID_CHARS))
    event_id: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str | None] = mapped_column(String(16))


class UnlockRequestRow(Base):
    """Staff unlock: asked by one operator, completed only by a different one."""

    __tablename__ = "auth_unlock_requests"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    first_operator: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    second_operator: Mapped[str | None] = mapped_column(String(200))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# Run first inside the transaction that stores a credential change; raises to refuse it (the
# session that asked has ended meanwhile: see Sessions.confirm_live).
Guard = Callable[[Session], None]


def changed(session: Session, statement: Executable) -> int:
    """How many rows a conditional UPDATE or DELETE touched: the answer of a single-use check."""
    return int(session.connection().execute(statement).rowcount)
