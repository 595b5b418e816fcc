"""The order and payout guard's knobs: [orders], [coordination], [withdrawals], [contacts].

Parsed and validated here, wrapped into `Policy.guard` by policy.py; docs/policy.md explains
each knob and docs/order-guard.md how the defaults were read off the scoreboard.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from kabuguard.risk.codes import Outcome

# State keeps coordination buckets, pivot traces and recent sells this long at most.
MAX_WINDOW_MINUTES = 240
MAX_PIVOT_HOURS = 72


class GuardPolicyError(ValueError):
    """A guard knob is missing, mistyped or out of range; policy.py names the file."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class HaltMode(StrEnum):
    """What a coordination alert does to the symbol: propose a buy-halt, or apply it."""

    APPLY = "apply"
    PROPOSE = "propose"


@dataclass(frozen=True, slots=True)
class OrderPolicy:
    premium_liquid: float  # a buy limit this far above the last price is held (liquid name)
    premium_thin: float  # the same for a thin name; log-interpolated between the two
    liquid_adv_yen: int  # average daily traded value from which a name counts as liquid
    thin_adv_yen: int  # ... below which it counts as thin
    low_price_yen: int  # TSE's low-priced tier
    stale_minutes: int  # a last price older than this is stale
    stale_widening: float  # how much a stale price widens the premium band
    close_premium: float  # last above previous close by this share: the name is running up
    near_limit_up: float  # a limit at or above this share of the way to limit-up
    adv_share: float  # order quantity above this share of average daily volume
    listed_share_flag: float  # exchange rule: 5-30 % of listed shares flagged
    listed_share_reject: float  # ... over 30 % rejected
    profile_min_orders: int  # orders before a customer's profile is compared with
    profile_value_multiple: float  # order value above this multiple of their largest
    profile_value_floor_yen: int  # ... and above this value
    liquidate_minutes: int  # sells this recent count as a liquidation before a buy
    liquidate_yen: int  # ... when they add up to this much
    session_risky_score: int  # a session whose login scored this much carries risk to orders


@dataclass(frozen=True, slots=True)
class CoordinationPolicy:
    window_minutes: int
    min_accounts: float  # weighted distinct buyers needed at least
    normal_multiple: float  # ... and this multiple of the symbol's normal distinct buyers
    risky_session_score: int  # a buyer whose session scored this much weighs 1
    calm_weight: float  # a buyer from a calm session weighs this much
    alert_hours: int  # how long risky buys of the symbol are held after the alert
    halt: HaltMode
    halt_hours: int
    pivot_hours: int  # accounts touched by the buyers' IPs or devices this recently


@dataclass(frozen=True, slots=True)
class WithdrawalPolicy:
    risky_login_hours: int  # a withdrawal this soon after a risky login is held ...
    risky_login_score: int
    new_destination_days: int  # ... when its destination was registered this recently
    unusual_multiple: float  # above this multiple of the customer's largest withdrawal
    unusual_floor_yen: int  # ... and above this amount
    unusual_outcome: Outcome
    mule_customers: int  # a bank account registered by this many customers is a likely mule


@dataclass(frozen=True, slots=True)
class ContactPolicy:
    dormant_months: int  # no login for this long: a contact change waits for the old channel


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    orders: OrderPolicy
    coordination: CoordinationPolicy
    withdrawals: WithdrawalPolicy
    contacts: ContactPolicy


TABLES = ("orders", "coordination", "withdrawals", "contacts")
_FRACTIONS = {
    "premium_liquid",
    "premium_thin",
    "close_premium",
    "near_limit_up",
    "adv_share",
    "listed_share_flag",
    "listed_share_reject",
    "calm_weight",
}
_LIMITS = {
    "window_minutes": MAX_WINDOW_MINUTES,
    "liquidate_minutes": MAX_WINDOW_MINUTES,
    "pivot_hours": MAX_PIVOT_HOURS,
}
T = TypeVar("T")
S = TypeVar("S", HaltMode, Outcome)


def parse_guard(data: dict[str, Any]) -> GuardPolicy:
    orders = _section(data, "orders", OrderPolicy)
    if orders.premium_thin > orders.premium_liquid:
        raise GuardPolicyError("orders.premium_thin must be <= orders.premium_liquid")
    if orders.thin_adv_yen > orders.liquid_adv_yen:
        raise GuardPolicyError("orders.thin_adv_yen must be <= orders.liquid_adv_yen")
    return GuardPolicy(
        orders=orders,
        coordination=_section(data, "coordination", CoordinationPolicy),
        withdrawals=_section(data, "withdrawals", WithdrawalPolicy),
        contacts=_section(data, "contacts", ContactPolicy),
    )


def _section(data: dict[str, Any], name: str, kind: type[T]) -> T:
    # A policy written before the guard existed keeps loading: a missing table takes the
    # built-in defaults. A present table must be complete, so a typo still fails loudly.
    table = data[name] if name in data else _built_in()[name]
    if not isinstance(table, dict):
        raise GuardPolicyError(f"[{name}] must be a table")
    known = [f.name for f in fields(kind)]  # type: ignore[arg-type]
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise GuardPolicyError(f"unknown key(s) in [{name}]: {', '.join(unknown)}")
    values = {}
    for key in known:
        if key not in table:
            raise GuardPolicyError(f"[{name}] lacks {key}")
        values[key] = _value(key, table[key], f"{name}.{key}")
    return kind(**values)


@cache
def _built_in() -> dict[str, Any]:
    text = resources.files("kabuguard.risk").joinpath("default_policy.toml").read_text("utf-8")
    return tomllib.loads(text)


def _value(key: str, value: Any, where: str) -> object:
    if key == "halt":
        return _choice(HaltMode, value, where)
    if key == "unusual_outcome":
        outcome = _choice(Outcome, value, where)
        if outcome not in (Outcome.CHALLENGE, Outcome.HOLD):
            raise GuardPolicyError(f"{where} must be challenge or hold, got {value!r}")
        return outcome
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise GuardPolicyError(f"{where} must be a non-negative number, got {value!r}")
    if key in _FRACTIONS and value > 1:
        raise GuardPolicyError(f"{where} must be between 0 and 1, got {value!r}")
    if key in _LIMITS and value > _LIMITS[key]:
        raise GuardPolicyError(f"{where} must be at most {_LIMITS[key]}")
    if isinstance(value, float) and not _is_float_knob(key):
        raise GuardPolicyError(f"{where} must be an integer, got {value!r}")
    return float(value) if _is_float_knob(key) else value


def _is_float_knob(key: str) -> bool:
    return key in _FRACTIONS or key.endswith(("_multiple", "_widening", "_accounts"))


def _choice(enum: type[S], value: Any, where: str) -> S:
    for member in enum:
        if member.value == value:
            return member
    allowed = ", ".join(member.value for member in enum)
    raise GuardPolicyError(f"{where}: {value!r} is not one of {allowed}")
