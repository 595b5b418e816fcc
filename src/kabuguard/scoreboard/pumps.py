"""The order guard's figures: pump buys stopped or held, and how soon a pumped symbol alerts.

A fraudulent buy is a pump hijack's buy order; it is stopped or held when the defence cut the
hijack off at or before it (a hold or deny on the buy itself, or an earlier stop). The alert
time of a symbol is the first kabuguard decision on a buy of it carrying
`order:coordination:symbol` on the day (JST) of its third hijacked buy, so an alert raised
days earlier by ordinary buying does not count; it is measured from that third buy (issue 6:
within five simulated minutes). Baselines never alert.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from kabuguard.labels import Campaign
from kabuguard.risk.codes import ReasonCode
from kabuguard.risk.events import Event, Order, Side
from kabuguard.scoreboard.labels import Label
from kabuguard.scoreboard.outcomes import Ruling

ALERT = ReasonCode.ORDER_COORDINATION_SYMBOL.value
ALERT_WITHIN_MINUTES = 5.0
NTH_BUY = 3
JST = timezone(timedelta(hours=9))


@dataclass
class PumpTracker:
    buys: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    stopped: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    hijacked_buys: defaultdict[str, list[datetime]] = field(
        default_factory=lambda: defaultdict(list)
    )
    alerts: dict[tuple[str, date], datetime] = field(default_factory=dict)

    def observe(
        self, event: Event, label: Label, rulings: dict[str, Ruling], happened: dict[str, bool]
    ) -> None:
        if not isinstance(event, Order) or event.side is not Side.BUY:
            return
        key = f"{event.market}:{event.symbol}"
        own = rulings.get("kabuguard")
        day = event.occurred_at.astimezone(JST).date()
        if own is not None and ALERT in own.codes and (key, day) not in self.alerts:
            self.alerts[(key, day)] = event.occurred_at
        if label.campaign is not Campaign.PUMP or label.attack_id is None:
            return
        self.hijacked_buys[key].append(event.occurred_at)
        for defence, went_ahead in happened.items():
            self.buys[defence] += 1
            self.stopped[defence] += not went_ahead

    def alert_minutes(self) -> list[float | None]:
        """Per pumped symbol with at least three hijacked buys: minutes from the third buy to
        the alert (negative: it came earlier; None: never)."""
        found: list[float | None] = []
        for key, times in sorted(self.hijacked_buys.items()):
            if len(times) < NTH_BUY:
                continue
            third = sorted(times)[NTH_BUY - 1]
            alert = self.alerts.get((key, third.astimezone(JST).date()))
            found.append(None if alert is None else (alert - third).total_seconds() / 60)
        return found
