"""ORM models of the order and payout guard: per-customer records, keyed windows, cases, holds,
product restrictions and registered names (migration 0005)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kabuguard.db import Base, UTCDateTime


class GuardCustomerRow(Base):
    """One customer's trading profile, recent sells and money facts (compact JSON, < 2 KB)."""

    __tablename__ = "guard_customers"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    detail: Mapped[str] = mapped_column(Text)


class GuardKeyRow(Base):
    """Keyed, expiring guard state: symbol windows, reference facts, pivot traces, accounts."""

    __tablename__ = "guard_keys"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    detail: Mapped[str] = mapped_column(Text)
    expires: Mapped[int] = mapped_column(BigInteger, index=True)


class CaseRow(Base):
    __tablename__ = "cases"

    case_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    market: Mapped[str] = mapped_column(String(10))
    symbol: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.event_id"))
    halt: Mapped[str] = mapped_column(String(16))  # proposed or applied
    status: Mapped[str] = mapped_column(String(16))  # open or closed
    note: Mapped[str | None] = mapped_column(String(500))


class CaseAccountRow(Base):
    __tablename__ = "case_accounts"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # buyer or pivot


class HoldRow(Base):
    """A held customer action, released by its timer or by staff, or rejected: never lost."""

    __tablename__ = "holds"
    __table_args__ = (Index("ix_holds_status_held_at", "status", "held_at"),)

    event_id: Mapped[str] = mapped_column(ForeignKey("events.event_id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(128))
    reasons: Mapped[str] = mapped_column(Text)  # JSON list of reason codes
    held_at: Mapped[datetime] = mapped_column(UTCDateTime())
    release_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # pending, released, rejected
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(500))


class ProductRestrictionRow(Base):
    """A customer-requested restriction (TRADE-2): no trading on this market."""

    __tablename__ = "product_restrictions"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    market: Mapped[str] = mapped_column(String(10), primary_key=True)
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RegisteredNameRow(Base):
    """The customer's registered name in katakana, for the payout holder-name check."""

    __tablename__ = "registered_names"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name_kana: Mapped[str] = mapped_column(String(200))
