"""ORM models: every accepted event and the decision made on it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kabuguard.db import Base, UTCDateTime


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_customer_timeline", "customer_id", "occurred_at", "event_id"),
    )

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    digest: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)


class DecisionRow(Base):
    __tablename__ = "decisions"

    event_id: Mapped[str] = mapped_column(ForeignKey("events.event_id"), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    risk_score: Mapped[int] = mapped_column(Integer)
    required_factor: Mapped[str | None] = mapped_column(String(32))
    reasons: Mapped[str] = mapped_column(Text)
    restrictions: Mapped[str] = mapped_column(Text)
    policy_version: Mapped[str] = mapped_column(String(64))
    shadow: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
