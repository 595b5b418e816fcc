"""Stop semantics: when a decision stops an attacker, and what counts as friction for a customer."""

from __future__ import annotations

from dataclasses import dataclass

from kabuguard.labels import AttackerFactor
from kabuguard.risk.actions import action_of
from kabuguard.risk.codes import FactorClass, Outcome
from kabuguard.risk.events import Event, LoginAttempt, LoginStep
from kabuguard.scoreboard.labels import Label


@dataclass(frozen=True, slots=True)
class Ruling:
    """What one defence answered to one event: the outcome and, for a challenge, the factor."""

    outcome: Outcome
    factor: FactorClass | None = None
    codes: frozenset[str] = frozenset()  # the decision's reason codes (kabuguard only)


ALLOW = Ruling(Outcome.ALLOW)
ASK_ANY_MFA = Ruling(Outcome.CHALLENGE, FactorClass.ANY_MFA)

_LOGIN_STEPS = frozenset({LoginStep.PASSWORD, LoginStep.PASSKEY})


def is_login(event: Event) -> bool:
    """A login in the sense of the legitimate rates and of Freeman: its first step, not the code."""
    return isinstance(event, LoginAttempt) and event.step in _LOGIN_STEPS


def stops(event: Event, ruling: Ruling, label: Label) -> bool:
    """Whether the attacker behind `label` cannot get past `ruling` at `event`.

    Only customer actions can be stopped: executions, prices and the like report what already
    happened. A phishing-resistant challenge stops everyone; any_mfa stops only an attacker who
    cannot relay one-time codes.
    """
    if action_of(event) is None:
        return False
    match ruling.outcome:
        case Outcome.HOLD | Outcome.DENY:
            return True
        case Outcome.CHALLENGE if ruling.factor is FactorClass.PHISHING_RESISTANT:
            return True
        case Outcome.CHALLENGE if ruling.factor is FactorClass.ANY_MFA:
            return AttackerFactor.OTP_RELAY not in label.attacker_has
        case _:
            return False


def challenges(ruling: Ruling) -> bool:
    """The customer met friction at a login: a challenge or worse."""
    return ruling.outcome.rank >= Outcome.CHALLENGE.rank


def holds(ruling: Ruling) -> bool:
    """The customer's order or withdrawal did not go through as asked."""
    return ruling.outcome.rank >= Outcome.HOLD.rank
