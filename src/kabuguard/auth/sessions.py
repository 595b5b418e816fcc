"""Server-side sessions bound to a device; each remembers its factor, time and network.

The token (256 bits) is handed out once; only its SHA-256 is stored. A session is valid while
it is unrevoked, within its idle and absolute limits, presented from the device it was bound
to, and no lock came after it began: no customer_lock was received and the customer did not
lock their own login since — so a lock from any path (self-service, the freeze link, the broker,
staff) ends every session at once, even one a login was issuing while the lock was set, and an
unlock revives none.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, SQLColumnExpression, exists, not_, or_, select, update
from sqlalchemy.orm import Session

from kabuguard.auth.interfaces import NotFound, SessionRequired, SessionScope
from kabuguard.auth.lockout import source_keys
from kabuguard.auth.models import AccountRow, SessionRow, changed
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
    event_session_id: str | None  # the session_id of its login steps' events
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
            row.event_session_id,
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
        event_session: str,
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
            event_session_id=event_session,
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
        S = SessionRow
        with self._db.read() as session:  # one round trip on every authenticated request
            found = session.execute(
                select(S, _locked_since(S.customer_id, S.authenticated_at)).where(
                    S.token_digest == digest(token)
                )
            ).one_or_none()
        row, locked = (None, False) if found is None else found
        if row is None or not self._valid(row, device_id, now):
            raise SessionRequired("your session has ended; please log in again")
        if locked:
            self._end_locked(row.customer_id, now)
            raise SessionRequired("the account was locked, which ended every session")
        if now - row.last_seen_at >= _TOUCH_EVERY:
            with self._db.write() as session:
                session.execute(
                    update(SessionRow).where(SessionRow.id == row.id).values(last_seen_at=now)
                )
        return SessionInfo.of(row)

    def _end_locked(self, customer_id: str, now: datetime) -> None:
        """Revoke the customer's sessions that a lock came after: each begun at or before a
        lock. A session begun after an unlock is not touched, so a raced session presented
        after the unlock ends itself and older ones, never the customer's new login."""
        S = SessionRow
        with self._db.write() as session:
            session.execute(
                update(S)
                .where(
                    S.customer_id == customer_id,
                    S.revoked_at.is_(None),
                    _locked_since(customer_id, S.authenticated_at),
                )
                .values(revoked_at=now, revoked_reason="customer_locked")
            )

    def confirm_live(self, session: Session, info: SessionInfo, now: datetime) -> None:
        """Inside the write transaction that stores a credential change: the session is still
        unrevoked, unexpired and not locked since it began; else SessionRequired (and the
        caller's transaction, with its change, rolls back). A lock can land while the engine
        is asked; this closes that gap. On PostgreSQL the account row is locked first, so a
        self-lock waits for this transaction instead of passing between check and commit."""
        session.execute(
            select(AccountRow.customer_id)
            .where(AccountRow.customer_id == info.customer_id)
            .with_for_update()
        )
        S = SessionRow
        live = session.execute(
            select(S.id).where(
                S.id == info.id,
                S.revoked_at.is_(None),
                S.expires_at > now,
                not_(_locked_since(info.customer_id, S.authenticated_at)),
            )
        ).first()
        if live is None:
            raise SessionRequired(
                "your session ended before the change was stored (it was revoked, or the "
                "account was locked); nothing was changed"
            )

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


def _locked_since(
    customer_id: str | SQLColumnExpression[str], since: datetime | SQLColumnExpression[datetime]
) -> ColumnElement[bool]:
    """Whether a customer_lock for this customer arrived at or after `since`, or the customer
    locked their own login then or since, or is locked now. The last two catch a session a login
    issued while a self-lock was revoking every session (the login read the lock state first).
    Both may be a session row's columns: then it is asked of each session."""
    engine_lock = exists().where(
        EventRow.customer_id == customer_id,
        EventRow.type == EventType.CUSTOMER_LOCK.value,
        EventRow.received_at >= since,
    )
    self_lock = exists().where(
        AccountRow.customer_id == customer_id,
        or_(AccountRow.self_lock.is_not(None), AccountRow.self_locked_at >= since),
    )
    return or_(engine_lock, self_lock)
