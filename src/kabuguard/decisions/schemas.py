"""Response schemas of the decision API (for the OpenAPI document; responses are built as dicts)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel

from kabuguard.risk.codes import Capability, FactorClass, Outcome


class MessageOut(BaseModel):
    ja: str
    en: str


class ReasonOut(BaseModel):
    code: str
    score: int
    outcome: Outcome
    message: MessageOut


class RestrictionOut(BaseModel):
    capability: Capability
    until: AwareDatetime
    enforcement: Outcome
    reason: str


class ShadowOut(BaseModel):
    policy_version: str
    outcome: Outcome
    risk_score: int
    required_factor: FactorClass | None
    reasons: list[str]


class DecisionOut(BaseModel):
    event_id: str
    outcome: Outcome
    required_factor: FactorClass | None
    restrictions: list[RestrictionOut]
    risk_score: int
    reasons: list[ReasonOut]
    policy_version: str
    shadow: ShadowOut | None
    decided_at: AwareDatetime


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[dict[str, str]]


class ErrorOut(BaseModel):
    error: ErrorDetail


class BatchItemOut(BaseModel):
    index: int
    event_id: str | None
    status: int
    replayed: bool | None = None
    decision: DecisionOut | None = None
    error: ErrorDetail | None = None


class BatchOut(BaseModel):
    results: list[BatchItemOut]
    accepted: int
    rejected: int


class TimelineItemOut(BaseModel):
    event: dict[str, object]
    decision: DecisionOut


class TimelineOut(BaseModel):
    items: list[TimelineItemOut]
    next_cursor: str | None
