"""Ground-truth labels: one per event, written by the simulator and never read by the engine."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from kabuguard.labels import Actor, AttackerFactor, Campaign, LegitTag

E = TypeVar("E", bound=StrEnum)


class LabelError(ValueError):
    """A label line breaks the contract; the message names the field."""


@dataclass(frozen=True, slots=True)
class Label:
    event_id: str
    actor: Actor
    campaign: Campaign | None = None
    attack_id: str | None = None
    goal: bool = False
    loss_yen: int = 0
    attacker_has: frozenset[AttackerFactor] = frozenset()
    legit_tag: LegitTag | None = None


_FIELDS = frozenset(Label.__dataclass_fields__)


def parse_label(document: Any) -> Label:
    """Validate one decoded label line. Unknown keys are refused, as for events: a misspelt
    field would otherwise silently turn an attack into ordinary traffic."""
    if not isinstance(document, dict):
        raise LabelError("expected a JSON object")
    unknown = sorted(set(document) - _FIELDS)
    if unknown:
        raise LabelError(f"unknown field(s): {', '.join(unknown)}")
    label = Label(
        event_id=_text(document, "event_id"),
        actor=_member(Actor, document.get("actor"), "actor"),
        campaign=_optional(Campaign, document.get("campaign"), "campaign"),
        attack_id=_optional_text(document, "attack_id"),
        goal=_flag(document, "goal"),
        loss_yen=_yen(document.get("loss_yen", 0)),
        attacker_has=_factors(document.get("attacker_has", [])),
        legit_tag=_optional(LegitTag, document.get("legit_tag"), "legit_tag"),
    )
    _check_consistent(label)
    return label


def _check_consistent(label: Label) -> None:
    attacker = label.actor is Actor.ATTACKER
    if not attacker and (label.campaign or label.attack_id or label.attacker_has):
        raise LabelError(f"a {label.actor} event cannot carry a campaign, attack_id or factors")
    if attacker and label.campaign is None:
        raise LabelError("an attacker event needs a campaign")
    if label.goal and label.attack_id is None:
        raise LabelError("goal is true but attack_id is null")
    if label.loss_yen and not attacker:
        raise LabelError(f"loss_yen on a {label.actor} event")
    if label.legit_tag is not None and label.actor is not Actor.CUSTOMER:
        raise LabelError("legit_tag is only for customer events")


def _text(document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value:
        raise LabelError(f"{key} must be a non-empty string")
    return value


def _optional_text(document: dict[str, Any], key: str) -> str | None:
    return None if document.get(key) is None else _text(document, key)


def _flag(document: dict[str, Any], key: str) -> bool:
    value = document.get(key, False)
    if not isinstance(value, bool):
        raise LabelError(f"{key} must be true or false")
    return value


def _yen(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LabelError(f"loss_yen must be an integer >= 0, not {value!r}")
    return value


def _member(kind: type[E], value: object, key: str) -> E:
    if isinstance(value, str) and value in kind.__members__.values():
        return kind(value)
    choices = ", ".join(member.value for member in kind)
    raise LabelError(f"{key} {value!r} is not one of {choices}")


def _optional(kind: type[E], value: object, key: str) -> E | None:
    return None if value is None else _member(kind, value, key)


def _factors(value: object) -> frozenset[AttackerFactor]:
    if not isinstance(value, list):
        raise LabelError("attacker_has must be a list")
    return frozenset(_member(AttackerFactor, item, "attacker_has item") for item in value)
