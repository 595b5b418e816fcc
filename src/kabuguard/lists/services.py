"""Changing the lists: every change is audited in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind
from kabuguard.risk.signals import BlockedNetwork, IPNetwork, SymbolHalt
from kabuguard.state.sql import SqlState


class ListService:
    def __init__(self, session: Session, *, actor: str, at: datetime) -> None:
        self._state = SqlState(session)
        self._session = session
        self._actor = actor
        self._at = at

    def halt(self, halt: SymbolHalt) -> None:
        self._state.halt_symbol(halt)
        subject = f"{halt.market}:{halt.symbol}"
        self._audit(AuditKind.LIST_HALTED_SYMBOL_ADDED, subject, halt_entry(halt))

    def lift(self, symbol: str, market: str) -> SymbolHalt:
        lifted = self._state.lift_halt(symbol, market)
        self._audit(AuditKind.LIST_HALTED_SYMBOL_REMOVED, f"{market}:{symbol}", halt_entry(lifted))
        return lifted

    def halts(self) -> list[SymbolHalt]:
        return self._state.halts(self._at)

    def block(self, blocked: BlockedNetwork) -> None:
        self._state.block_network(blocked)
        self._audit(AuditKind.LIST_BLOCKED_NETWORK_ADDED, str(blocked.network), _block(blocked))

    def unblock(self, network: IPNetwork) -> BlockedNetwork:
        removed = self._state.unblock_network(network)
        self._audit(AuditKind.LIST_BLOCKED_NETWORK_REMOVED, str(network), _block(removed))
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
