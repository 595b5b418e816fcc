"""One defence's running score: stops per hijack, yen lost per hour, friction per customer tag."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from kabuguard.labels import Actor, LegitTag
from kabuguard.risk.events import Event, EventType
from kabuguard.scoreboard.hijacks import Hijack, Stop, hour_of
from kabuguard.scoreboard.labels import Label
from kabuguard.scoreboard.outcomes import Ruling, challenges, holds, is_login, stops


@dataclass(slots=True)
class Friction:
    """What legitimate customers met: logins challenged, orders and withdrawals held."""

    logins: int = 0
    logins_challenged: int = 0
    orders: int = 0
    orders_held: int = 0
    withdrawals: int = 0
    withdrawals_held: int = 0

    def add(self, other: Friction) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Tally:
    stops: dict[str, Stop] = field(default_factory=dict)
    friction: defaultdict[LegitTag | None, Friction] = field(
        default_factory=lambda: defaultdict(Friction)
    )
    customers_challenged: set[str] = field(default_factory=set)
    lost_by_hour: Counter[datetime] = field(default_factory=Counter)

    def observe(self, event: Event, label: Label, ruling: Ruling, hijack: Hijack | None) -> bool:
        """Score one event; return whether it happens under this defence (not cut off by a stop)."""
        if label.actor is Actor.CUSTOMER:
            self._customer(event, label, ruling)
            return True
        if hijack is None or label.attack_id is None:
            self._lose(event, label.loss_yen)
            return True
        stop = self.stops.setdefault(label.attack_id, Stop())
        if stop.event is None and stops(event, ruling, label):
            stop.event, stop.at = hijack.events, event.occurred_at
        if stop.event is not None:
            return False
        stop.yen_lost += label.loss_yen
        self._lose(event, label.loss_yen)
        return True

    def total_friction(self) -> Friction:
        total = Friction()
        for friction in self.friction.values():
            total.add(friction)
        return total

    def _lose(self, event: Event, yen: int) -> None:
        if yen:
            self.lost_by_hour[hour_of(event.occurred_at)] += yen

    def _customer(self, event: Event, label: Label, ruling: Ruling) -> None:
        friction = self.friction[label.legit_tag]
        if is_login(event):
            friction.logins += 1
            if challenges(ruling):
                friction.logins_challenged += 1
                if event.customer_id is not None:
                    self.customers_challenged.add(event.customer_id)
        elif event.type is EventType.ORDER:
            friction.orders += 1
            friction.orders_held += holds(ruling)
        elif event.type is EventType.WITHDRAWAL:
            friction.withdrawals += 1
            friction.withdrawals_held += holds(ruling)
