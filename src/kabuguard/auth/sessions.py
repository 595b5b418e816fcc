"""Server-side sessions bound to a device; each remembers its factor, time and network.

The token (256 bits) is handed out once; only its SHA-256 is stored. A session is valid while
it is unrevoked, within its idle and absolute limits, presented from the device it was bound
to, and no customer_lock was received after it began — so a lock from any path (self-service,
the freeze link, the broker, staff) ends every session at once, and an unlock revives none.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Exists, exists, select, update

from kabuguard.auth.interfaces import NotFound, SessionRequired, SessionScope
from kabuguard.auth.lockout import source_keys
from kabuguard.auth.models import SessionRow, changed
from kabuguard.db import Database
from kabuguard.decisions.models import EventRow
from kabuguard.risk.events import EventType

_TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most once a minute


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a step came from: the bound device and the network."""

    device_id: str
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    customer_id: str
    device_id: str
    factor: str  # a Factor, or "onboarding" for the session that enrols the first passkey
    factor_class: str  # a FactorClass, or "none"
    scope: SessionScope
    ip: str | None
    network: str | None
    user_agent: str | None
    authenticated_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None

    @classmethod
    def of(cls, row: SessionRow) -> SessionInfo:
        return cls(
            row.id,
            row.customer_id,
            row.device_id,
            row.factor,
            row.factor_class,
            SessionScope(row.scope),
            row.ip,
            row.network,
            row.user_agent,
            row.authenticated_at,
            row.last_seen_at,
            row.expires_at,
            row.revoked_at,
            row.revoked_reason,
        )

    def age(self, now: datetime) -> timedelta:
        """How long ago the session's factor was presented (step-up decisions use it)."""
        return now - self.authenticated_at


@dataclass(frozen=True, slots=True)
class Issued:
    token: str
    session: SessionInfo


class Sessions:
    def __init__(self, database: Database, *, idle: timedelta, absolute: timedelta) -> None:
        self._db = database
        self._idle = idle
        self._absolute = absolute

    def issue(
        self,
        customer_id: str,
        origin: Origin,
        *,
        factor: str,
        factor_class: str,
        scope: SessionScope,
        now: datetime,
    ) -> Issued:
        token = secrets.token_urlsafe(32)
        row = SessionRow(
            token_digest=digest(token),
            customer_id=customer_id,
            device_id=origin.device_id,
            factor=factor,
            factor_class=factor_class,
            scope=scope.value,
            ip=origin.ip,
            network=source_keys(origin.ip).get("network", "").removeprefix("net:") or None,
            user_agent=origin.user_agent,
            authenticated_at=now,
            last_seen_at=now,
            expires_at=now + self._absolute,
        )
        with self._db.write() as session:
            session.add(row)
            session.flush()
            return Issued(token, SessionInfo.of(row))

    def current(self, token: str | None, device_id: str | None, now: datetime) -> SessionInfo:
        """The session a token names, if valid from this device now; else SessionRequired."""
        if not token or not device_id:
            raise SessionRequired("please log in")
        with self._db.read() as session:
            row = session.execute(
                select(SessionRow).where(SessionRow.token_digest == digest(token))
            ).scalar_one_or_none()
            locked = (
                row is not None
                and session.execute(
                    select(_locked_since(row.customer_id, row.authenticated_at))
                ).scalar_one()
            )
        if row is None or not self._valid(row, device_id, now):
            raise SessionRequired("your session has ended; please log in again")
        if locked:
            self.revoke_all(row.customer_id, "customer_locked", now)
            raise SessionRequired("the account was locked, which ended every session")
        if now - row.last_seen_at >= _TOUCH_EVERY:
            with self._db.write() as session:
                session.execute(
                    update(SessionRow).where(SessionRow.id == row.id).values(last_seen_at=now)
                )
        return SessionInfo.of(row)

    def _valid(self, row: SessionRow, device_id: str, now: datetime) -> bool:
        return (
            row.revoked_at is None
            and row.device_id == device_id
            and now < row.expires_at
            and now < row.last_seen_at + self._idle
        )

    def list(self, customer_id: str, now: datetime) -> list[SessionInfo]:
        """Sessions still running, newest first."""
        query = (
            select(SessionRow)
            .where(
                SessionRow.customer_id == customer_id,
                SessionRow.revoked_at.is_(None),
                SessionRow.expires_at > now,
                SessionRow.last_seen_at > now - self._idle,
            )
            .order_by(SessionRow.authenticated_at.desc(), SessionRow.id.desc())
        )
        with self._db.read() as session:
            return [SessionInfo.of(row) for row in session.execute(query).scalars()]

    def revoke(self, customer_id: str, session_id: int, reason: str, now: datetime) -> None:
        with self._db.write() as session:
            done = changed(
                session,
                update(SessionRow)
                .where(
                    SessionRow.id == session_id,
                    SessionRow.customer_id == customer_id,
                    SessionRow.revoked_at.is_(None),
                )
                .values(revoked_at=now, revoked_reason=reason),
            )
        if not done:
            raise NotFound(f"no running session {session_id} for this customer")

    def revoke_all(self, customer_id: str, reason: str, now: datetime) -> int:
        with self._db.write() as session:
            return int(
                changed(
                    session,
                    update(SessionRow)
                    .where(SessionRow.customer_id == customer_id, SessionRow.revoked_at.is_(None))
                    .values(revoked_at=now, revoked_reason=reason),
                )
            )


def _locked_since(customer_id: str, since: datetime) -> Exists:
    """Whether a customer_lock for this customer arrived at or after `since`."""
    return exists().where(
        EventRow.customer_id == customer_id,
        EventRow.type == EventType.CUSTOMER_LOCK.value,
        EventRow.received_at >= since,
    )
