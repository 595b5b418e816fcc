"""What the engine returns: hits with reasons, restrictions, and the resulting verdicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kabuguard.risk.codes import Capability, FactorClass, Outcome, ReasonCode


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule's finding: a reason code, its score, the outcome it demands and its messages."""

    code: ReasonCode
    score: int
    outcome: Outcome
    message_ja: str
    message_en: str


@dataclass(frozen=True, slots=True)
class Restriction:
    """A capability taken away until `until`; an attempt meets `enforcement` (hold or deny)."""

    capability: Capability
    until: datetime
    enforcement: Outcome
    reason: ReasonCode


@dataclass(frozen=True, slots=True)
class Verdict:
    """One policy's judgement of one event."""

    outcome: Outcome
    risk_score: int
    required_factor: FactorClass | None
    hits: tuple[Hit, ...]
    restrictions: tuple[Restriction, ...]
    policy_version: str

    @property
    def stepped_up(self) -> bool:
        """Challenged for a passkey: whatever follows under this verdict passed one."""
        return (
            self.outcome is Outcome.CHALLENGE
            and self.required_factor is FactorClass.PHISHING_RESISTANT
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """The live verdict, which acts, and the shadow verdict, which is only recorded."""

    event_id: str
    live: Verdict
    shadow: Verdict | None = None
