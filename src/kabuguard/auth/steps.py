"""Every authentication step as an event through the decision engine, whose answer is obeyed.

Steps are submitted to the same committer as the broker's events, so each is decided by
the live policy, recorded with its audit entry and notices in one transaction, and shown on the
customer's timeline. The decision comes back as a Verdict the login flow acts on.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kabuguard.auth.sessions import Origin
from kabuguard.decisions.writer import Committer
from kabuguard.risk.codes import FactorClass, Outcome
from kabuguard.risk.events import (
    AttemptResult,
    Channel,
    CredentialAction,
    CredentialChange,
    CredentialKind,
    CustomerLock,
    CustomerUnlock,
    Event,
    Factor,
    Initiator,
    LoginAttempt,
    LoginStep,
)


@dataclass(frozen=True, slots=True)
class Verdict:
    event_id: str
    outcome: Outcome
    required: FactorClass | None
    reasons: tuple[str, ...]

    @classmethod
    def of(cls, decision: dict[str, Any]) -> Verdict:
        required = decision.get("required_factor")
        return cls(
            decision["event_id"],
            Outcome(decision["outcome"]),
            FactorClass(required) if required else None,
            tuple(reason["code"] for reason in decision["reasons"]),
        )

    @property
    def refused(self) -> bool:
        return self.outcome in (Outcome.DENY, Outcome.HOLD)


def new_event_id(kind: str) -> str:
    return f"auth-{kind}-{secrets.token_hex(12)}"


@dataclass(frozen=True, slots=True)
class Context:
    """Who is acting, from where, through which door — common to every step's event."""

    origin: Origin
    channel: Channel
    actor: str  # audit actor: "auth:pages" or "apikey:<name>"
    now: datetime

    def common(self, customer_id: str | None, session_id: str | None) -> dict[str, Any]:
        return {
            "occurred_at": self.now,
            "customer_id": customer_id,
            "session_id": session_id,
            "channel": self.channel,
            "ip": self.origin.ip,
            "user_agent": (self.origin.user_agent or "")[:1024] or None,
            "device_id": self.origin.device_id,
        }


class StepRecorder:
    def __init__(self, committer: Committer) -> None:
        self.committer = committer

    async def submit(self, event: Event, actor: str) -> Verdict:
        submitted = await self.committer.submit(event, actor)
        return Verdict.of(submitted.decision)

    async def login(
        self,
        ctx: Context,
        *,
        customer_id: str | None,
        username: str | None,
        step: LoginStep,
        ok: bool,
        factor: Factor | None,
        session_id: str | None,
    ) -> Verdict:
        event = LoginAttempt(
            event_id=new_event_id("login"),
            **ctx.common(customer_id, session_id),
            step=step,
            result=AttemptResult.SUCCESS if ok else AttemptResult.FAILURE,
            factor=factor,
            attempted_username=None if customer_id else (username or "?")[:256],
        )
        return await self.submit(event, ctx.actor)

    async def credential(
        self,
        ctx: Context,
        customer_id: str,
        kind: CredentialKind,
        action: CredentialAction,
        *,
        session_id: str | None = None,
    ) -> Verdict:
        event = CredentialChange(
            event_id=new_event_id("credential"),
            **ctx.common(customer_id, session_id),
            credential=kind,
            action=action,
        )
        return await self.submit(event, ctx.actor)

    async def lock(
        self, ctx: Context, customer_id: str, by: Initiator, reason: str, *, unlock: bool = False
    ) -> Verdict:
        model = CustomerUnlock if unlock else CustomerLock
        event = model(
            event_id=new_event_id("unlock" if unlock else "lock"),
            **ctx.common(customer_id, None),
            initiated_by=by,
            reason=reason[:500],
        )
        return await self.submit(event, ctx.actor)
