"""Lockout that cannot lock customers out: exact counters, per-source limits, passkeys exempt.

Count first, verify second: an attempt takes its slot with one atomic UPDATE … SET n = n + 1
… RETURNING before the password is checked, so parallel attempts get distinct slots and at
most N are ever verified per lock period (the race in GHSA-7h8m-vrxx-vr4m let parallel
requests all pass a check-then-count). After N failures the path pauses with a delay that
doubles per lockout up to a cap — never a permanent lock (Keycloak GHSA-cq42-vhv7-xr7p) —
and it pauses only that path: passkey login counts nothing and keeps working, so someone who
only knows a username cannot lock the customer out (ZITADEL CVE-2025-64102).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from ipaddress import IPv4Address, ip_network

from sqlalchemy import Connection, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from kabuguard.auth.models import AccountRow, ThrottleRow
from kabuguard.db import Database
from kabuguard.risk.signals import ParsedIP

A = AccountRow


class Path(StrEnum):
    """The two consecutive-failure counters, kept apart."""

    PASSWORD = "password"  # noqa: S105 (the name of a counter)
    FACTOR = "factor"


_COLUMNS = {
    Path.PASSWORD: (A.password_failures, A.password_lockouts, A.password_locked_until),
    Path.FACTOR: (A.factor_failures, A.factor_lockouts, A.factor_locked_until),
}


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    max_failures: int
    base: timedelta
    cap: timedelta

    def delay(self, lockouts: int) -> timedelta:
        return min(self.cap, self.base * (1 << min(max(lockouts - 1, 0), 30)))


@dataclass(frozen=True, slots=True)
class Slot:
    number: int  # this attempt's place among the consecutive attempts
    allowed: bool  # False: beyond the allowance, refused without verification
    locked_until: datetime | None = None  # set when this attempt paused the path


class Lockout:
    def __init__(self, database: Database, policies: dict[Path, LockoutPolicy]) -> None:
        self._db = database
        self._policies = policies

    def take_slot(self, customer_id: str, path: Path, now: datetime) -> Slot | None:
        """Count this attempt; None when the path is paused (nothing is counted then)."""
        failures, _, until = _COLUMNS[path]
        statement = (
            update(A)
            .where(A.customer_id == customer_id, or_(until.is_(None), until <= now))
            .values({failures: failures + 1})
            .returning(failures)
        )
        with self._db.write() as session:
            connection = session.connection()
            number = connection.execute(statement).scalar_one_or_none()
            if number is None:
                return None
            if number > self._policies[path].max_failures:
                return Slot(number, False, self._pause(connection, customer_id, path, now))
        return Slot(number, True)

    def failed(self, customer_id: str, path: Path, slot: Slot, now: datetime) -> datetime | None:
        """Record a verified failure; the time the path is paused until, if this paused it."""
        if slot.number < self._policies[path].max_failures:
            return None
        with self._db.write() as session:
            return self._pause(session.connection(), customer_id, path, now)

    def succeeded(self, customer_id: str, path: Path) -> None:
        failures, lockouts, _ = _COLUMNS[path]
        with self._db.write() as session:
            session.execute(
                update(A).where(A.customer_id == customer_id).values({failures: 0, lockouts: 0})
            )

    def paused_until(self, customer_id: str, path: Path, now: datetime) -> datetime | None:
        until = _COLUMNS[path][2]
        with self._db.read() as session:
            value = session.execute(select(until).where(A.customer_id == customer_id)).scalar()
        return value if value is not None and value > now else None

    def _pause(
        self, connection: Connection, customer_id: str, path: Path, now: datetime
    ) -> datetime | None:
        """Pause the path unless a concurrent attempt already did (the first one wins)."""
        failures, lockouts, until = _COLUMNS[path]
        level = connection.execute(
            update(A)
            .where(A.customer_id == customer_id, or_(until.is_(None), until <= now))
            .values({failures: 0, lockouts: lockouts + 1})
            .returning(lockouts)
        ).scalar_one_or_none()
        if level is None:
            return None
        ends = now + self._policies[path].delay(level)
        connection.execute(update(A).where(A.customer_id == customer_id).values({until: ends}))
        return ends


@dataclass(frozen=True, slots=True)
class SourceLimits:
    per_ip: int
    per_network: int
    window: timedelta


def source_keys(ip: str | None) -> dict[str, str]:
    """Keys of the attempt's sources: its address and its /24 (IPv6: /64) network."""
    address = ParsedIP.parse(ip).address
    if address is None:
        return {"ip": "ip:unknown"}
    prefix = 24 if isinstance(address, IPv4Address) else 64
    return {
        "ip": f"ip:{address}",
        "network": f"net:{ip_network(f'{address}/{prefix}', strict=False)}",
    }


class SourceThrottle:
    """Failures per IP and per /24 in fixed windows, whichever accounts they were against."""

    def __init__(self, database: Database, limits: SourceLimits) -> None:
        self._db = database
        self._limits = limits

    def exceeded(self, ip: str | None, now: datetime) -> str | None:
        """The limited source ("ip" or "network"), if one has used up its allowance."""
        keys = source_keys(ip)
        query = select(ThrottleRow.key, ThrottleRow.count).where(
            ThrottleRow.key.in_(list(keys.values())), ThrottleRow.window_ends_at > now
        )
        with self._db.read() as session:
            counts: dict[str, int] = dict(session.execute(query).all())
        limits = {"ip": self._limits.per_ip, "network": self._limits.per_network}
        for kind, key in keys.items():
            if counts.get(key, 0) >= limits[kind]:
                return kind
        return None

    def count_failure(self, ip: str | None, now: datetime) -> None:
        ends = now + self._limits.window
        with self._db.write() as session:
            connection = session.connection()
            connection.execute(delete(ThrottleRow).where(ThrottleRow.window_ends_at <= now))
            insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
            for key in source_keys(ip).values():
                statement = insert(ThrottleRow).values(key=key, count=1, window_ends_at=ends)
                connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=["key"], set_={"count": ThrottleRow.count + 1}
                    )
                )
