"""Policy: a versioned TOML file of thresholds, scores, required factors and cooling-off lengths.

Loading validates everything up front — an unknown reason code or outcome is a typo that would
otherwise silently weaken a defence — and names the offending key in the error.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from kabuguard.risk.codes import Action, Capability, FactorClass, Outcome, ReasonCode

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
class Policy:
    version: str
    digest: str
    thresholds: Thresholds
    required_factor: MappingProxyType[Action, FactorClass]
    scores: MappingProxyType[ReasonCode, int]
    enforcement: MappingProxyType[Capability, Outcome]
    payout_cooling_off: timedelta

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
        return cls.from_toml(text, source=str(path))

    @classmethod
    def from_toml(cls, text: str, *, source: str) -> Policy:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise PolicyError(source, f"not valid TOML: {error}") from error
        return _build(data, source, hashlib.sha256(text.encode()).hexdigest()[:12])


_KNOWN = {
    "": {"version", "thresholds", "required_factor", "cooling_off", "scores", "enforcement"},
    "thresholds": {"challenge", "hold", "deny"},
    "cooling_off": {"payout_change_hours"},
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
    )


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
