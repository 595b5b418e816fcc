"""ORM models of decision state: locks, restrictions, lists, instruments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kabuguard.db import Base, UTCDateTime


class CustomerLockRow(Base):
    __tablename__ = "customer_locks"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    initiated_by: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(500))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.event_id"))


class RestrictionRow(Base):
    __tablename__ = "restrictions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    capability: Mapped[str] = mapped_column(String(32))
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    enforcement: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.event_id"))


class HaltedSymbolRow(Base):
    __tablename__ = "halted_symbols"

    market: Mapped[str] = mapped_column(String(10), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(16), primary_key=True)
    reason: Mapped[str] = mapped_column(String(500))
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BlockedNetworkRow(Base):
    __tablename__ = "blocked_networks"

    network: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(500))
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ListVersionRow(Base):
    """Bumped on every list change so each worker knows when its cached index is stale."""

    __tablename__ = "list_versions"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class InstrumentRow(Base):
    __tablename__ = "instruments"

    market: Mapped[str] = mapped_column(String(10), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    lot_size: Mapped[int | None] = mapped_column(BigInteger)
    listed_shares: Mapped[int | None] = mapped_column(BigInteger)
    average_daily_volume: Mapped[int | None] = mapped_column(BigInteger)
    limit_up: Mapped[Decimal | None] = mapped_column(Numeric(26, 6))
    limit_down: Mapped[Decimal | None] = mapped_column(Numeric(26, 6))
    last: Mapped[Decimal | None] = mapped_column(Numeric(26, 6))
    previous_close: Mapped[Decimal | None] = mapped_column(Numeric(26, 6))
    price_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reference_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginProfileRow(Base):
    """A customer's login-history profile (compact JSON, about 1 KB) and leak-list entry."""

    __tablename__ = "login_profiles"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    profile: Mapped[str | None] = mapped_column(Text)
    exposed_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exposed_source: Mapped[str | None] = mapped_column(String(200))


class LoginCounterRow(Base):
    """Keyed, expiring login-risk state: stuffing buckets, population counts, session facts."""

    __tablename__ = "login_counters"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    attempts: Mapped[int] = mapped_column(BigInteger)
    failures: Mapped[int] = mapped_column(Integer)
    unknown_usernames: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)
    expires: Mapped[int] = mapped_column(BigInteger, index=True)
