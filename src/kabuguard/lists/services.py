"""Changing the lists: every change is audited in the same transaction.

Every change takes the audit chain's head lock first, as the decision writer does before it
halts a symbol on its own: two changes to the same entry at once then run one after the
other (the second removal finds nothing to remove, and is not audited as a success), and a
change never holds a list's rows while waiting for the head that a decision holding the head
waits to write them (a deadlock on PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind
from kabuguard.risk.signals import BlockedNetwork, IPNetwork, SymbolHalt
from kabuguard.state.interfaces import NotListed
from kabuguard.state.networks import mapped
from kabuguard.state.sql import SqlState


class ListService:
    def __init__(self, session: Session, *, actor: str, at: datetime) -> None:
        self._state = SqlState(session)
        self._session = session
        self._actor = actor
        self._at = at

    def halt(self, halt: SymbolHalt) -> None:
        audit.lock_head(self._session)
        self._state.halt_symbol(halt)
        subject = f"{halt.market}:{halt.symbol}"
        self._audit(AuditKind.LIST_HALTED_SYMBOL_ADDED, subject, halt_entry(halt))

    def lift(self, symbol: str, market: str) -> SymbolHalt:
        audit.lock_head(self._session)
        lifted = self._state.lift_halt(symbol, market)
        self._audit(AuditKind.LIST_HALTED_SYMBOL_REMOVED, f"{market}:{symbol}", halt_entry(lifted))
        return lifted

    def halts(self) -> list[SymbolHalt]:
        return self._state.halts(self._at)

    def block(self, blocked: BlockedNetwork) -> None:
        audit.lock_head(self._session)
        self._state.block_network(blocked)
        self._audit(AuditKind.LIST_BLOCKED_NETWORK_ADDED, str(blocked.network), _block(blocked))

    def unblock(self, network: IPNetwork) -> BlockedNetwork:
        """Remove `network`; an IPv4 network also as the IPv4-mapped IPv6 entry stored before
        such entries were converted on input (`lists.schemas.parse_network`)."""
        audit.lock_head(self._session)
        try:
            removed = self._state.unblock_network(network)
        except NotListed as missing:
            legacy = mapped(network)
            if legacy is None:
                raise
            try:
                removed = self._state.unblock_network(legacy)
            except NotListed:
                raise missing from None
        self._audit(AuditKind.LIST_BLOCKED_NETWORK_REMOVED, str(removed.network), _block(removed))
        return removed

    def blocked(self) -> list[BlockedNetwork]:
        return self._state.blocked_networks(self._at)

    def _audit(self, kind: AuditKind, subject: str, payload: dict[str, Any]) -> None:
        audit.append(
            self._session,
            kind=kind,
            actor=self._actor,
            subject=subject,
            payload=payload,
            at=self._at,
        )


def halt_entry(halt: SymbolHalt) -> dict[str, Any]:
    return {
        "symbol": halt.symbol,
        "market": halt.market,
        "reason": halt.reason,
        "until": halt.until.isoformat() if halt.until else None,
    }


def _block(blocked: BlockedNetwork) -> dict[str, Any]:
    return {
        "network": str(blocked.network),
        "reason": blocked.reason,
        "until": blocked.until.isoformat() if blocked.until else None,
    }
