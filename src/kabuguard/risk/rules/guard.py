"""The order and payout guard's rules, in the order the engine runs them (docs/order-guard.md)."""

from __future__ import annotations

from kabuguard.risk.rules import Rule
from kabuguard.risk.rules.contacts import dormant
from kabuguard.risk.rules.coordination import coordinated, pivoted
from kabuguard.risk.rules.destinations import approval, holder, mule
from kabuguard.risk.rules.orders import malformed, price_band, running_up, size, thin_name
from kabuguard.risk.rules.profile import (
    first_trade,
    liquidate_then_buy,
    product_restriction,
    session_risk,
    unusual,
)
from kabuguard.risk.rules.withdrawals import destination, risky_login, unusual_amount

GUARD_RULES: tuple[Rule, ...] = (
    malformed,
    product_restriction,
    price_band,
    running_up,
    size,
    thin_name,
    first_trade,
    unusual,
    liquidate_then_buy,
    session_risk,
    coordinated,
    pivoted,
    approval,
    holder,
    mule,
    destination,
    risky_login,
    unusual_amount,
    dormant,
)
