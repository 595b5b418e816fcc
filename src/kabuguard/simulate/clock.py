"""Simulated time: integer seconds since the run's first midnight in Japan, and market hours.

Every event time is an int `t`; text is made only when a line is written, from two tables
(the date of each day, the time of each second of a day) so formatting costs two lookups.
Japanese holidays are not modelled: every JST weekday is a trading day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import numpy as np
import numpy.typing as npt

DAY = 86_400
HOUR = 3_600
MINUTE = 60
# Follow-ups of things begun on the last day (an order filled at the next open, a transfer
# days later) may fall after it; the tables cover them.
TAIL_DAYS = 14


class Market(StrEnum):
    HKEX = "HKEX"
    NASDAQ = "NASDAQ"
    NYSE = "NYSE"
    SSE = "SSE"
    TSE = "TSE"


# Continuous sessions in Japan time (seconds after midnight), each weekday of the market.
_ASIAN_SESSIONS = {
    Market.TSE: (
        (9 * HOUR, 11 * HOUR + 30 * MINUTE),
        (12 * HOUR + 30 * MINUTE, 15 * HOUR + 30 * MINUTE),
    ),
    Market.HKEX: ((10 * HOUR + 30 * MINUTE, 13 * HOUR), (14 * HOUR, 17 * HOUR)),
    Market.SSE: ((10 * HOUR + 30 * MINUTE, 12 * HOUR + 30 * MINUTE), (14 * HOUR, 16 * HOUR)),
}
_US_OPEN_STANDARD = 23 * HOUR + 30 * MINUTE  # 09:30 New York (EST) in Japan time
_US_SESSION = 6 * HOUR + 30 * MINUTE


@dataclass(frozen=True, slots=True)
class Calendar:
    start: date
    days: int

    def date_of(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def is_trading_day(self, day: int) -> bool:
        return self.date_of(day).weekday() < 5

    def trading_days(self) -> list[int]:
        return [day for day in range(self.days) if self.is_trading_day(day)]

    def sessions(self, market: Market) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Open and close times of every session from the run start to the end of the tail."""
        opens: list[int] = []
        closes: list[int] = []
        for day in range(-1, self.days + TAIL_DAYS):
            if not self.is_trading_day(day):
                continue
            base = day * DAY
            if market in (Market.NASDAQ, Market.NYSE):
                begin = base + _US_OPEN_STANDARD - (HOUR if _us_summer(self.date_of(day)) else 0)
                opens.append(begin)
                closes.append(begin + _US_SESSION)
                continue
            for begin, end in _ASIAN_SESSIONS[market]:
                opens.append(base + begin)
                closes.append(base + end)
        return np.array(opens, dtype=np.int64), np.array(closes, dtype=np.int64)


def _us_summer(day: date) -> bool:
    """US daylight saving time: second Sunday of March to first Sunday of November."""
    march = date(day.year, 3, 8)
    november = date(day.year, 11, 1)
    begins = march + timedelta(days=(6 - march.weekday()) % 7)
    ends = november + timedelta(days=(6 - november.weekday()) % 7)
    return begins <= day < ends


class Timestamps:
    """ISO 8601 text with the +09:00 offset for any run second, by table lookup.

    The whole text of every second of the most recent day asked for is kept, since nearly all
    requests fall in the day being simulated.
    """

    def __init__(self, calendar: Calendar) -> None:
        self._dates = [
            f"{calendar.date_of(day).isoformat()}T" for day in range(calendar.days + TAIL_DAYS)
        ]
        self._times = [
            f"{h:02d}:{m:02d}:{s:02d}+09:00"
            for h in range(24)
            for m in range(60)
            for s in range(60)
        ]
        self._day = -1
        self._today: list[str] = []

    def __call__(self, t: int) -> str:
        return self._dates[t // DAY] + self._times[t % DAY]

    def many(self, times: npt.NDArray[np.int64]) -> list[str]:
        moments = times.tolist()
        day = min(moments, default=0) // DAY
        if max(moments, default=0) // DAY != day:
            return list(map(self.__call__, moments))
        if day != self._day:
            prefix = self._dates[day]
            self._today = [prefix + moment for moment in self._times]
            self._day = day
        offset = day * DAY
        return list(map(self._today.__getitem__, (times - offset).tolist()))
