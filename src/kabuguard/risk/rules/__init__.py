"""Rules: small functions from (event, signals, policy) to hits. One module per rule family."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Protocol

from kabuguard.risk.codes import MESSAGES, Outcome, ReasonCode
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import Event, LoginAttempt, LoginStep
from kabuguard.risk.login import LoginSignals
from kabuguard.risk.policy import Policy
from kabuguard.risk.signals import Signals


class Rule(Protocol):
    def __call__(self, event: Event, signals: Signals, policy: Policy) -> Iterable[Hit]: ...


LoginRule = Callable[[Event, LoginSignals, Policy], Iterable[Hit]]


def login_rule(rule: LoginRule) -> Rule:
    """A rule on the login facts; silent when the state fetched none for the event."""

    def judged(event: Event, signals: Signals, policy: Policy) -> Iterable[Hit]:
        return () if signals.login is None else rule(event, signals.login, policy)

    judged.__name__ = judged.__qualname__ = rule.__name__
    judged.__doc__ = rule.__doc__
    return judged


def hit(
    code: ReasonCode, policy: Policy, outcome: Outcome = Outcome.ALLOW, **params: object
) -> Hit:
    """A hit for `code`, scored by the policy, with its messages filled in from `params`."""
    message = MESSAGES[code]
    values = {key: _display(value) for key, value in params.items()}
    return Hit(
        code=code,
        score=policy.score(code),
        outcome=outcome,
        message_ja=message.ja.format(**values),
        message_en=message.en.format(**values),
    )


# Customers read these messages in Japan, which keeps one offset all year.
JST = timezone(timedelta(hours=9), "JST")


def _display(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(JST).strftime("%Y-%m-%d %H:%M JST")
    return str(value)


def password_step(event: Event) -> LoginAttempt | None:
    """The event if it is a password step: what the login rules judge (a passkey cannot be
    relayed or stuffed, and a second factor only completes the password step's login)."""
    if isinstance(event, LoginAttempt) and event.step is LoginStep.PASSWORD:
        return event
    return None
