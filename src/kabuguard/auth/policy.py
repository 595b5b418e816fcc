"""Which factor class each action needs, and the interim transition to passkeys (AUTH-6)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from kabuguard.risk.codes import Action, FactorClass
from kabuguard.risk.events import Factor

JST = timezone(timedelta(hours=9), "JST")

FACTOR_CLASS = MappingProxyType(
    {
        Factor.PASSKEY: FactorClass.PHISHING_RESISTANT,
        Factor.TOTP: FactorClass.ANY_MFA,
        Factor.EMAIL_OTP: FactorClass.ANY_MFA,
        Factor.RECOVERY_CODE: FactorClass.ANY_MFA,
        Factor.SMS_OTP: FactorClass.ANY_MFA,
        Factor.PUSH: FactorClass.ANY_MFA,
    }
)


class _Transition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    any_mfa_until: date | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str
    required_factor: dict[Action, FactorClass]
    transition: _Transition = _Transition()


def satisfies(factor: Factor, needed: FactorClass) -> bool:
    return needed is FactorClass.ANY_MFA or FACTOR_CLASS[factor] is FactorClass.PHISHING_RESISTANT


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    version: str
    required: MappingProxyType[Action, FactorClass]
    transition_until: date | None

    @classmethod
    def default(cls) -> AuthPolicy:
        text = resources.files("kabuguard.auth").joinpath("default_policy.toml").read_text()
        return cls.parse(text, "default_policy.toml")

    @classmethod
    def from_file(cls, path: Path) -> AuthPolicy:
        return cls.parse(path.read_text(encoding="utf-8"), str(path))

    @classmethod
    def parse(cls, text: str, source: str) -> AuthPolicy:
        try:
            raw: dict[str, Any] = tomllib.loads(text)
            parsed = _File.model_validate(raw)
        except (tomllib.TOMLDecodeError, ValidationError) as error:
            raise ValueError(f"{source}: {error}") from None
        missing = sorted(set(Action) - set(parsed.required_factor))
        if missing:
            raise ValueError(f"{source}: required_factor lacks {', '.join(missing)}")
        return cls(
            parsed.version,
            MappingProxyType(dict(parsed.required_factor)),
            parsed.transition.any_mfa_until,
        )

    def in_transition(self, now: datetime) -> bool:
        return self.transition_until is not None and now.astimezone(JST).date() <= (
            self.transition_until
        )

    def needed(self, action: Action, now: datetime, challenge: FactorClass | None) -> FactorClass:
        """The class this action needs now; a risk challenge naming a stronger class wins."""
        if challenge is FactorClass.PHISHING_RESISTANT:
            return challenge
        required = self.required[action]
        if required is FactorClass.PHISHING_RESISTANT and self.in_transition(now):
            return FactorClass.ANY_MFA
        return required
