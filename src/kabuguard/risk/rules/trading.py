"""Rules on orders. Detection of hijacked-account trading arrives with the order guard."""

from __future__ import annotations

from collections.abc import Iterator

from kabuguard.risk.codes import Outcome, ReasonCode
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import Event, Order, Side
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import hit
from kabuguard.risk.signals import Signals


def halted_symbol(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """Buys of a symbol on the buy-halt list are refused; sells stay allowed (TRADE-1)."""
    if isinstance(event, Order) and event.side is Side.BUY and signals.symbol_halt is not None:
        yield hit(ReasonCode.ORDER_SYMBOL_HALTED, policy, Outcome.DENY, symbol=event.symbol)
