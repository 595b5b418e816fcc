"""Cross-account coordination state: who bought each symbol lately, its usual buyers, alerts,
cases, and the pivot index of which accounts each IP, network and device touched (DET-3).

Bounded by time: a symbol keeps its buyers for `MAX_WINDOW_MINUTES` (at most `BUYER_CAP`
of them) and distinct-buyer counts for `DAYS` days; the pivot index keeps `MAX_PIVOT_HOURS`
and at most `TOUCH_CAP` accounts per key. Storage therefore grows with the number of symbols
and of recently active IPs and devices, never with history.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from operator import itemgetter

from kabuguard.risk.guard_policy import MAX_PIVOT_HOURS, MAX_WINDOW_MINUTES, CoordinationPolicy
from kabuguard.risk.trading import Coordination

WINDOW_SECONDS = MAX_WINDOW_MINUTES * 60
PIVOT_SECONDS = MAX_PIVOT_HOURS * 3600
DAY_SECONDS = 86_400
DAYS = 20  # trading history that makes a symbol's "normal"
TRADING_MINUTES = 300  # TSE: 09:00-11:30 and 12:30-15:30
HASHED_DAYS = 2  # days whose buyers are kept as hashes: today, and yesterday for late events
BUYER_CAP = 512
TOUCH_CAP = 64
DAILY_CAP = 256  # distinct buyers counted per symbol and day; beyond, the symbol is busy
Buyer = tuple[int, float, tuple[str, ...]]  # epoch seconds, weight, the pivot keys it used
_when = itemgetter(0)


@dataclass
class SymbolWindow:
    """Recent buyers by customer, and distinct buyers per day: short hashes of their ids for
    the last `HASHED_DAYS` days (an event may arrive late), a count for older days."""

    buyers: dict[str, Buyer] = field(default_factory=dict)
    days: dict[int, set[int]] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)  # day → distinct buyers, settled
    alert_opened: int | None = None  # epoch seconds of the open alert
    case_id: str | None = None

    def add(self, customer: str, at: int, weight: float, keys: tuple[str, ...]) -> None:
        day = at // DAY_SECONDS
        old = self.buyers.get(customer)
        if old is not None and old[0] > at - WINDOW_SECONDS:
            at, weight, keys = max(at, old[0]), max(weight, old[1]), _union(old[2], keys)
        # Only risky buyers' IPs and devices are pivoted on (`risky_keys`). A buyer calm so
        # far keeps none, which keeps a busy symbol's stored window small; should they buy
        # from a risky session later, that session's are the ones kept.
        self.buyers[customer] = (at, weight, keys if weight >= 1.0 else ())
        if len(self.buyers) > BUYER_CAP:
            self.prune(at)
        self._count(customer, day)

    def _count(self, customer: str, day: int) -> None:
        newest = max(self.days, default=day)
        if day in self.counts or day <= newest - HASHED_DAYS:  # settled: too late to count
            return
        seen = self.days.setdefault(day, set())
        if len(seen) < DAILY_CAP:
            seen.add(zlib.crc32(customer.encode()))
        self.settle()

    def settle(self) -> None:
        """Count the days before yesterday instead of hashing their buyers; forget the days
        the history no longer covers."""
        newest = max(self.days, default=0)
        for old_day in [d for d in self.days if d <= newest - HASHED_DAYS]:
            self.counts[old_day] = len(self.days.pop(old_day))
        for old_day in [d for d in self.counts if d <= newest - DAYS]:
            del self.counts[old_day]

    def prune(self, at: int) -> None:
        """Drop buyers older than the longest window, then the oldest beyond `BUYER_CAP`.

        A busy name sits at the cap, so this runs at nearly every buy: the buyers' times are
        scanned by builtins, and the dict is rebuilt only when some buyer has gone stale."""
        times = list(map(_when, self.buyers.values()))
        if times and min(times) <= at - WINDOW_SECONDS:
            self.buyers = {c: v for c, v in self.buyers.items() if v[0] > at - WINDOW_SECONDS}
            times = list(map(_when, self.buyers.values()))
        while len(times) > BUYER_CAP:  # one over, as a rule: linear, not a sort per buy
            # The first of the oldest in the buyers' order, as `min` with a key would pick.
            oldest = times.index(min(times))
            del self.buyers[next(islice(self.buyers, oldest, None))]
            del times[oldest]

    def facts(self, customer: str, at: datetime, knobs: CoordinationPolicy) -> Coordination:
        now = int(at.timestamp())
        since = now - knobs.window_minutes * 60
        # Summed in the buyers' order, as ever (a float sum depends on it). The loop reads
        # only each buyer's time and weight: at hundreds of buyers it is bound by memory, and
        # every name or keys tuple touched there is one more cache miss per buyer. (Builtins
        # do not beat it: mapping out the times to check them and summing measured slower.)
        weighted = 0.0
        for buyer in self.buyers.values():
            if since < buyer[0] <= now:
                weighted += buyer[1]
        mine = self.buyers.get(customer)
        counted = mine is not None and since < mine[0] <= now
        today = now // DAY_SECONDS
        # The days of the `DAYS`-day history before today only: a window not bought for longer
        # still holds older days (a store's row would have expired; memory drops them at the
        # next buy).
        past = [len(seen) for day, seen in self.days.items() if today - DAYS < day < today]
        past += [count for day, count in self.counts.items() if today - DAYS < day < today]
        # Today's own count too: a busy name with no history yet (a new listing, a fresh
        # store) must not look coordinated because every buyer is new.
        counted_today = self.counts.get(today, len(self.days.get(today, ())))
        daily = max(sum(past) / len(past) if past else 0.0, counted_today)
        opened = self.alert_opened
        alert_until = (
            datetime.fromtimestamp(opened, at.tzinfo) + timedelta(hours=knobs.alert_hours)
            if opened is not None
            else None
        )
        return Coordination(
            weighted_buyers=weighted,
            buyer_already_counted=counted,
            normal_buyers=daily * knobs.window_minutes / TRADING_MINUTES,
            alert_until=alert_until,
        )

    def involved(self, at: int, window_minutes: int) -> list[tuple[str, float]]:
        since = at - window_minutes * 60
        return sorted((c, w) for c, (when, w, _) in self.buyers.items() if when > since)

    def risky_keys(self, at: int, window_minutes: int) -> set[str]:
        """The IPs, networks and devices of the risky buyers inside the window."""
        since = at - window_minutes * 60
        return {
            key
            for when, weight, keys in self.buyers.values()
            if when > since and weight >= 1.0
            for key in keys
        }


class PivotIndex:
    """Which accounts each IP, anonymising network and device touched lately."""

    def __init__(self) -> None:
        self.touched: dict[str, dict[str, int]] = {}  # key → customer → epoch seconds

    def touch(self, customer: str, keys: list[str], at: int) -> list[str]:
        """Record the touches; returns the keys whose entry changed (for a store to write)."""
        changed = []
        for key in keys:
            entries = self.touched.setdefault(key, {})
            # Refreshed at most hourly: enough for a pivot window of hours, and a store then
            # writes a busy key once an hour rather than at every event.
            if entries.get(customer, 0) <= at - 3600:
                entries[customer] = at
                _cap(entries, at)
                changed.append(key)
        return changed

    def pivot(self, keys: set[str], at: int, hours: int) -> set[str]:
        """Every account touched by any of `keys` within `hours`."""
        since = at - hours * 3600
        return {c for key in keys for c, t in self.touched.get(key, {}).items() if t > since}

    def sweep(self, at: int) -> None:
        for key in list(self.touched):
            entries = {c: t for c, t in self.touched[key].items() if t > at - PIVOT_SECONDS}
            if entries:
                self.touched[key] = entries
            else:
                del self.touched[key]


def _union(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...]:
    return old if not new or set(new) <= set(old) else tuple(sorted({*old, *new}))


def _cap(entries: dict[str, int], at: int) -> None:
    if len(entries) <= TOUCH_CAP:
        return
    fresh = sorted(((t, k) for k, t in entries.items() if t > at - PIVOT_SECONDS), reverse=True)
    entries.clear()
    entries.update((k, t) for t, k in fresh[:TOUCH_CAP])
