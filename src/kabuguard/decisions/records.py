"""The stored, serialisable form of a decision — what the API returns and replay writes."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson

from kabuguard.risk.decisions import Decision, Hit, Restriction, Verdict
from kabuguard.risk.events import EVENT_ADAPTER, Event


def event_document(event: Event) -> dict[str, Any]:
    """The event as plain JSON values: datetimes as ISO 8601, money in its one spelling (the
    `Money` type's), so that the idempotency digest compares amounts by value."""
    document: dict[str, Any] = EVENT_ADAPTER.dump_python(event, mode="json", exclude_none=True)
    return document


def event_digest(document: dict[str, Any]) -> str:
    """Identity of an event's content for idempotency: formatting and key order do not count.

    The document holds only strings, integers, booleans and nesting (Decimals are already
    strings), so sorted-key orjson is canonical for it and much cheaper than RFC 8785.
    """
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def reason_document(hit: Hit) -> dict[str, Any]:
    return {
        "code": hit.code.value,
        "score": hit.score,
        "outcome": hit.outcome.value,
        "message": {"ja": hit.message_ja, "en": hit.message_en},
    }


def restriction_document(restriction: Restriction) -> dict[str, Any]:
    return {
        "capability": restriction.capability.value,
        "until": restriction.until.isoformat(),
        "enforcement": restriction.enforcement.value,
        "reason": restriction.reason.value,
    }


def shadow_document(verdict: Verdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {
        "policy_version": verdict.policy_version,
        "outcome": verdict.outcome.value,
        "risk_score": verdict.risk_score,
        "required_factor": verdict.required_factor.value if verdict.required_factor else None,
        "reasons": [hit.code.value for hit in verdict.hits],
    }


def in_force(
    active: tuple[Restriction, ...], imposed: tuple[Restriction, ...], at: datetime
) -> list[Restriction]:
    """Restrictions that bind the customer once this decision is made."""
    return sorted(
        (r for r in (*active, *imposed) if r.until > at),
        key=lambda r: (r.until, r.capability.value),
    )


def decision_document(
    decision: Decision, restrictions: list[Restriction], decided_at: datetime
) -> dict[str, Any]:
    live = decision.live
    return {
        "event_id": decision.event_id,
        "outcome": live.outcome.value,
        "required_factor": live.required_factor.value if live.required_factor else None,
        "restrictions": [restriction_document(r) for r in restrictions],
        "risk_score": live.risk_score,
        "reasons": [reason_document(hit) for hit in live.hits],
        "policy_version": live.policy_version,
        "shadow": shadow_document(decision.shadow),
        "decided_at": decided_at.isoformat(),
    }


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


def loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)
