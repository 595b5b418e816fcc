"""Rules: small functions from (event, signals, policy) to hits. One module per rule family."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Protocol

from kabuguard.risk.codes import MESSAGES, Outcome, ReasonCode
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import Event
from kabuguard.risk.policy import Policy
from kabuguard.risk.signals import Signals


class Rule(Protocol):
    def __call__(self, event: Event, signals: Signals, policy: Policy) -> Iterable[Hit]: ...


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
