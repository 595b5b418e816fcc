"""The ground-truth vocabulary shared by the simulator that writes labels and the scoreboard
that reads them (docs/simulation.md, "Labels"). The engine never sees any of it."""

from __future__ import annotations

from enum import StrEnum


class Actor(StrEnum):
    ATTACKER = "attacker"
    CUSTOMER = "customer"
    MARKET = "market"


class Campaign(StrEnum):
    """Attack campaigns in report order: from mass stuffing to the quiet e-mail rewrite."""

    STUFFING = "stuffing"
    ATO_NAIVE = "ato_naive"
    ATO_VPN = "ato_vpn"
    ATO_TARGETED = "ato_targeted"
    RELAY = "relay"
    PUMP = "pump"
    PAYOUT = "payout"
    DORMANT_EMAIL = "dormant_email"


class AttackerFactor(StrEnum):
    """What an attacker can present: a phished password, and relayed one-time codes."""

    OTP_RELAY = "otp_relay"
    PASSWORD = "password"  # noqa: S105  (a factor the attacker holds, not a secret)


class LegitTag(StrEnum):
    """Legitimate behaviours that look unusual and must not be flagged."""

    BANK_MOVE = "bank_move"
    CARRIER_CHURN = "carrier_churn"
    CORPORATE_PROXY = "corporate_proxy"
    HOUSE_SALE = "house_sale"
    NEW_PHONE = "new_phone"
    SENIOR = "senior"
    TRAVEL = "travel"
    VPN = "vpn"
