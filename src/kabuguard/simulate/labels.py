"""The ground-truth label written for every event (docs/simulation.md, "Labels").

A label line is `{"event_id": ...,` followed by a body that the simulator builds once per
kind of event: customer and market bodies are constants, attacker bodies are built per event.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from kabuguard.labels import Actor, AttackerFactor, Campaign, LegitTag

# Session tags as small integers for numpy arrays; 0 is "no tag". Order = priority.
TAG_CODES: tuple[LegitTag | None, ...] = (
    None,
    LegitTag.TRAVEL,
    LegitTag.NEW_PHONE,
    LegitTag.BANK_MOVE,
    LegitTag.HOUSE_SALE,
    LegitTag.CORPORATE_PROXY,
    LegitTag.VPN,
    LegitTag.CARRIER_CHURN,
    LegitTag.SENIOR,
)
TAG_CODE = {tag: code for code, tag in enumerate(TAG_CODES) if tag is not None}


def _body(document: dict[str, object]) -> str:
    return orjson.dumps(document).decode()[1:]


def _bystander(actor: Actor, tag: LegitTag | None = None) -> str:
    """The label of a customer's or the market's event: no campaign, no loss."""
    return _body(
        {
            "actor": actor,
            "campaign": None,
            "attack_id": None,
            "goal": False,
            "loss_yen": 0,
            "attacker_has": [],
            "legit_tag": tag,
        }
    )


CUSTOMER_BY_CODE = tuple(_bystander(Actor.CUSTOMER, tag) for tag in TAG_CODES)
CUSTOMER = CUSTOMER_BY_CODE[0]
MARKET = _bystander(Actor.MARKET)


@dataclass(frozen=True, slots=True)
class AttackerLabel:
    """The fixed part of an attacker's labels: one per hijack, or per campaign without one."""

    campaign: Campaign
    attack_id: str | None
    has: tuple[AttackerFactor, ...]

    def body(self, *, goal: bool = False, loss_yen: int = 0) -> str:
        return _body(
            {
                "actor": Actor.ATTACKER,
                "campaign": self.campaign,
                "attack_id": self.attack_id,
                "goal": goal,
                "loss_yen": loss_yen,
                "attacker_has": list(self.has),
                "legit_tag": None,
            }
        )
