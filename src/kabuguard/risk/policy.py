"""Policy: a versioned TOML file of thresholds, scores, required factors and cooling-off lengths.

Loading validates everything up front — an unknown reason code or outcome is a typo that would
otherwise silently weaken a defence — and names the offending key in the error.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from kabuguard.risk.codes import Action, Capability, FactorClass, Outcome, ReasonCode
from kabuguard.risk.guard_policy import TABLES as GUARD_TABLES
from kabuguard.risk.guard_policy import GuardPolicy, GuardPolicyError, parse_guard

E = TypeVar("E", Action, Capability, FactorClass, Outcome, ReasonCode)
K = TypeVar("K", Action, Capability)
V = TypeVar("V", FactorClass, Outcome)


class PolicyError(ValueError):
    """The policy file is unreadable or names something that does not exist."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Thresholds:
    challenge: int
    hold: int
    deny: int

    def outcome_for(self, score: int) -> Outcome:
        if score >= self.deny:
            return Outcome.DENY
        if score >= self.hold:
            return Outcome.HOLD
        if score >= self.challenge:
            return Outcome.CHALLENGE
        return Outcome.ALLOW


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """The login risk engine's knobs ([login]); docs/policy.md says what each does. A key left
    out of the file keeps this default, which default_policy.toml states again (a test checks
    that they agree)."""

    home_country: str = "JP"
    dormant_days: int = 180
    unfamiliar_at: float = 2.5  # log10 of the history model's risk
    very_unfamiliar_at: float = 3.0
    travel_kmh: int = 1000
    relay_concurrent_seconds: int = 120
    sensitive_action_seconds: int = 180
    session_hours: int = 12
    session_risky_score: int = 20
    stuffing_window_minutes: int = 60
    stuffing_failures: int = 10
    stuffing_usernames: int = 10
    stuffing_unknown_share: float = 0.2
    stuffing_failure_share: float = 0.9
    stuffing_lock_hours: int = 24


# State keeps stuffing buckets and session facts this long; the policy may not look further.
MAX_STUFFING_WINDOW_MINUTES = 120
MAX_SESSION_HOURS = 24


@dataclass(frozen=True, slots=True)
class Policy:
    version: str
    digest: str
    thresholds: Thresholds
    required_factor: MappingProxyType[Action, FactorClass]
    scores: MappingProxyType[ReasonCode, int]
    enforcement: MappingProxyType[Capability, Outcome]
    payout_cooling_off: timedelta
    login: LoginPolicy
    guard: GuardPolicy  # the order and payout guard (risk/guard_policy.py)

    def score(self, code: ReasonCode) -> int:
        return self.scores.get(code, 0)

    @classmethod
    def default(cls) -> Policy:
        text = resources.files("kabuguard.risk").joinpath("default_policy.toml").read_text("utf-8")
        return cls.from_toml(text, source="default_policy.toml")

    @classmethod
    def from_file(cls, path: Path) -> Policy:
        try:
            text = path.read_text("utf-8")
        except OSError as error:
            raise PolicyError(str(path), f"cannot read: {error.strerror}") from error
        except UnicodeDecodeError as error:
            raise PolicyError(
                str(path), f"not UTF-8 text (byte {error.start}): save it as UTF-8"
            ) from error
        return cls.from_toml(text, source=str(path))

    @classmethod
    def from_toml(cls, text: str, *, source: str) -> Policy:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise PolicyError(source, f"not valid TOML: {error}") from error
        return _build(data, source, hashlib.sha256(text.encode()).hexdigest()[:12])


_KNOWN = {
    "": {
        "version",
        "thresholds",
        "required_factor",
        "cooling_off",
        "scores",
        "enforcement",
        "login",
        *GUARD_TABLES,
    },
    "thresholds": {"challenge", "hold", "deny"},
    "cooling_off": {"payout_change_hours"},
    "login": {field.name for field in fields(LoginPolicy)},
}
_FRACTIONS = {"stuffing_unknown_share", "stuffing_failure_share"}
_LOG10S = {"unfamiliar_at", "very_unfamiliar_at"}
_LIMITS = {
    "stuffing_window_minutes": MAX_STUFFING_WINDOW_MINUTES,
    "session_hours": MAX_SESSION_HOURS,
}


def _refuse_unknown_keys(data: dict[str, Any], source: str) -> None:
    """A misspelt knob must fail loudly, not silently keep its default."""
    for table, known in _KNOWN.items():
        present = data if table == "" else data.get(table, {})
        unknown = sorted(set(present) - known) if isinstance(present, dict) else []
        if unknown:
            where = f"[{table}]" if table else "the top level"
            raise PolicyError(source, f"unknown key(s) in {where}: {', '.join(unknown)}")


def _build(data: dict[str, Any], source: str, digest: str) -> Policy:
    _refuse_unknown_keys(data, source)
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise PolicyError(source, "`version` must be a non-empty string")
    thresholds = _table(data, "thresholds", source)
    levels = [
        _int(thresholds, key, f"thresholds.{key}", source) for key in ("challenge", "hold", "deny")
    ]
    if not 0 < levels[0] <= levels[1] <= levels[2] <= 100:
        raise PolicyError(source, "thresholds must satisfy 0 < challenge <= hold <= deny <= 100")
    cooling = _int(
        _table(data, "cooling_off", source),
        "payout_change_hours",
        "cooling_off.payout_change_hours",
        source,
    )
    return Policy(
        version=version,
        digest=digest,
        thresholds=Thresholds(*levels),
        required_factor=_enum_map(data, "required_factor", Action, FactorClass, source),
        scores=MappingProxyType(
            {
                _member(ReasonCode, code, f"scores.{code}", source): _int(
                    table_value, None, f"scores.{code}", source
                )
                for code, table_value in _table(data, "scores", source).items()
            }
        ),
        enforcement=_enum_map(data, "enforcement", Capability, Outcome, source),
        payout_cooling_off=timedelta(hours=cooling),
        login=_login(data.get("login", {}), source),
        guard=_guard(data, source),
    )


def _login(table: Any, source: str) -> LoginPolicy:
    values: dict[str, Any] = {}
    if not isinstance(table, dict):
        raise PolicyError(source, "[login] must be a table")
    for key in (field.name for field in fields(LoginPolicy) if field.name in table):
        where = f"login.{key}"
        if key == "home_country":
            country = table[key]
            if not isinstance(country, str) or len(country) != 2 or not country.isupper():
                raise PolicyError(source, f"{where} must be an ISO 3166 alpha-2 code like 'JP'")
            values[key] = country
        elif key in _FRACTIONS or key in _LOG10S:
            values[key] = _number(table[key], where, source, fraction=key in _FRACTIONS)
        else:
            values[key] = _int(table, key, where, source)
            if key in _LIMITS and values[key] > _LIMITS[key]:
                raise PolicyError(source, f"{where} must be at most {_LIMITS[key]}")
    login = replace(LoginPolicy(), **values)
    if login.very_unfamiliar_at < login.unfamiliar_at:
        raise PolicyError(source, "login.very_unfamiliar_at must be >= login.unfamiliar_at")
    return login


def _guard(data: dict[str, Any], source: str) -> GuardPolicy:
    try:
        return parse_guard(data)
    except GuardPolicyError as error:
        raise PolicyError(source, error.problem) from error


def _number(value: Any, where: str, source: str, *, fraction: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(source, f"{where} must be a number, got {value!r}")
    if fraction and not 0 <= value <= 1:
        raise PolicyError(source, f"{where} must be between 0 and 1, got {value!r}")
    return float(value)


def _table(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise PolicyError(source, f"missing table [{key}]")
    return value


def _int(container: Any, key: str | None, where: str, source: str) -> int:
    value = container if key is None else container.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PolicyError(source, f"{where} must be a non-negative integer, got {value!r}")
    return value


def _member(enum: type[E], value: object, where: str, source: str) -> E:
    for member in enum:
        if member.value == value:
            return member
    allowed = ", ".join(member.value for member in enum)
    raise PolicyError(source, f"{where}: {value!r} is not one of {allowed}")


def _enum_map(
    data: dict[str, Any], key: str, keys: type[K], values: type[V], source: str
) -> MappingProxyType[K, V]:
    table = _table(data, key, source)
    mapping = {
        _member(keys, name, f"{key}.{name}", source): _member(
            values, value, f"{key}.{name}", source
        )
        for name, value in table.items()
    }
    missing = [member.value for member in keys if member not in mapping]
    if missing:
        raise PolicyError(source, f"[{key}] lacks {', '.join(missing)}")
    return MappingProxyType(mapping)
