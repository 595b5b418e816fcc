"""Prices: a random walk per instrument on a five-minute grid, reference and price events.

Prices move only while the instrument's market is open, stay inside TSE daily limits, and
follow a scripted path while a pump is on (see PumpPath). Price events are written every ten
minutes of open market, the first of each session with the previous close and limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import orjson

from kabuguard.simulate import render
from kabuguard.simulate.clock import DAY, MINUTE, Calendar, Market, Timestamps
from kabuguard.simulate.instruments import DAILY_VOLATILITY, Instrument, round_prices, tse_limits
from kabuguard.simulate.labels import MARKET
from kabuguard.simulate.stream import EventStream

STEP = 300
STEPS = DAY // STEP
PRICE_EVENT_EVERY = 2  # steps: one price event per instrument per ten open minutes
_OPEN_STEPS_PER_DAY = 66  # about 5.5 open hours: scales daily volatility to a step
_MARKETS = list(Market)


@dataclass(frozen=True, slots=True)
class PumpPath:
    """A pump's price: from the fair price up to `peak` times it, then a collapse."""

    instrument: int
    start: int  # on a grid step
    rise: int
    peak: float
    collapse: int = 40 * MINUTE
    floor: float = 0.9

    @property
    def end(self) -> int:
        return self.start + self.rise + self.collapse

    def ratio(self, t: int) -> float:
        """Price over the fair price at time t."""
        elapsed = t - self.start
        if elapsed <= self.rise:
            climbed: float = (max(elapsed, 0) / self.rise) ** 0.8
            return 1.0 + (self.peak - 1.0) * climbed
        fallen = min(1.0, (elapsed - self.rise) / self.collapse)
        return self.peak + (self.floor - self.peak) * fallen


@dataclass
class DayPrices:
    day: int
    grid: npt.NDArray[np.float64]  # [instrument, step], rounded to ticks
    fair: dict[int, float] = field(default_factory=dict)  # pumped instrument -> price before

    def at(self, instrument: int, t: int) -> float:
        step = min(max(t - self.day * DAY, 0) // STEP, STEPS - 1)
        return float(self.grid[instrument, step])

    def many(
        self, instruments: npt.NDArray[np.int64], times: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        steps = np.clip((times - self.day * DAY) // STEP, 0, STEPS - 1)
        return self.grid[instruments, steps]


class PriceBook:
    def __init__(self, calendar: Calendar, instruments: tuple[Instrument, ...], seed: int) -> None:
        self.instruments = instruments
        self.decimals = np.array([i.decimals for i in instruments], dtype=np.int64)
        self.quotes = render.Quotes(instruments)
        self.pumps: list[PumpPath] = []
        self._seed = seed
        self._price = round_prices(np.array([i.price for i in instruments]), self.decimals)
        self._last = self._price.copy()  # the walk runs unrounded; trades see ticks
        self._previous_close = self._price.copy()
        daily = np.array([DAILY_VOLATILITY[i.tier] for i in instruments])
        self._sigma = daily / np.sqrt(_OPEN_STEPS_PER_DAY)
        self._tse = np.array([i.market is Market.TSE for i in instruments])
        self._market_of = np.array([_MARKETS.index(i.market) for i in instruments])
        self._sessions = [calendar.sessions(market) for market in _MARKETS]
        self._was_open = np.zeros(len(instruments), dtype=bool)
        self._opened_on = np.full(len(instruments), -1)

    def is_open(self, market: Market, t: int) -> bool:
        opens, closes = self._sessions[_MARKETS.index(market)]
        after = int(np.searchsorted(closes, t, side="right"))
        return t >= int(opens[after])

    def market_state(
        self, instruments: npt.NDArray[np.int64], times: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
        """Per (instrument, time): is its market open, and when it next opens (or t)."""
        is_open = np.zeros(len(times), dtype=bool)
        next_open = times.copy()
        markets = self._market_of[instruments]
        for position, (opens, closes) in enumerate(self._sessions):
            mine = markets == position
            following = opens[np.searchsorted(closes, times[mine], side="right")]
            is_open[mine] = times[mine] >= following
            next_open[mine] = np.maximum(times[mine], following)
        return is_open, next_open

    def limits(self, instrument: int) -> tuple[float, float] | None:
        """Today's TSE price limits (limit up, limit down); None off the TSE."""
        if not self._tse[instrument]:
            return None
        close = self._previous_close[instrument : instrument + 1]
        limit = float(tse_limits(close)[0])
        return float(close[0]) + limit, max(1.0, float(close[0]) - limit)

    def simulate_day(self, day: int, stream: EventStream, stamp: Timestamps) -> DayPrices:
        """Walk the day's grid and write its price events."""
        rng = np.random.default_rng([self._seed, 3, day])
        prices = DayPrices(day, np.empty((len(self.instruments), STEPS)))
        shocks = rng.standard_normal((STEPS, len(self.instruments)))
        open_during = self._open_during(day)
        for step in range(STEPS):
            t = day * DAY + step * STEP
            is_open = open_during[step]
            opening = is_open & ~self._was_open
            # The reference price is the previous trading day's close, not the lunch-break one.
            first_today = opening & (self._opened_on != day)
            self._previous_close[first_today] = self._last[first_today]
            self._opened_on[first_today] = day
            self._price = np.where(
                is_open, self._price * np.exp(self._sigma * shocks[step]), self._price
            )
            pumped = self._apply_pumps(t, prices)
            self._clip_to_limits()
            prices.grid[:, step] = self._last = round_prices(self._price, self.decimals)
            due = np.flatnonzero(opening | (is_open & (step % PRICE_EVENT_EVERY == 0))).tolist()
            # A pumped symbol's prices come from the pump script, minute by minute.
            self._emit(t, [i for i in due if i not in pumped], opening, stream, stamp)
            self._was_open = is_open
        return prices

    def _open_during(self, day: int) -> npt.NDArray[np.bool_]:
        """[step, instrument]: is the instrument's market open at each step of the day."""
        times = day * DAY + np.arange(STEPS, dtype=np.int64) * STEP
        by_market = np.empty((len(_MARKETS), STEPS), dtype=bool)
        for position, (opens, closes) in enumerate(self._sessions):
            by_market[position] = times >= opens[np.searchsorted(closes, times, side="right")]
        per_instrument: npt.NDArray[np.bool_] = by_market[self._market_of].T
        return per_instrument

    def _clip_to_limits(self) -> None:
        close = self._previous_close[self._tse]
        limit = tse_limits(close)
        low, high = np.maximum(1.0, close - limit), close + limit
        self._price[self._tse] = np.clip(self._price[self._tse], low, high)

    def _apply_pumps(self, t: int, prices: DayPrices) -> set[int]:
        pumped: set[int] = set()
        for pump in self.pumps:
            if pump.start <= t < pump.end:
                # Fair price: the last traded price before the pump's first step.
                fair = prices.fair.setdefault(pump.instrument, float(self._last[pump.instrument]))
                self._price[pump.instrument] = fair * pump.ratio(t)
                pumped.add(pump.instrument)
        return pumped

    def _emit(
        self,
        t: int,
        chosen: list[int],
        opening: npt.NDArray[np.bool_],
        stream: EventStream,
        stamp: Timestamps,
    ) -> None:
        if not chosen:
            return
        quotes = self.quotes
        bodies = render.prices(
            [stamp(t)] * len(chosen),
            list(map(quotes.symbol.__getitem__, chosen)),
            quotes.prices(chosen, self._last[chosen].tolist()),
            [self._session_fields(i) if opening[i] else "" for i in chosen],
        )
        stream.add(np.full(len(chosen), t), bodies, [MARKET] * len(chosen))

    def _session_fields(self, index: int) -> str:
        text = f',"previous_close":{self.quotes.price(index, float(self._previous_close[index]))}'
        limits = self.limits(index)
        if limits is not None:
            text += f',"limit_up":{limits[0]:.0f},"limit_down":{limits[1]:.0f}'
        return text

    def emit_reference(self, stream: EventStream, stamp: Timestamps) -> None:
        """One `instrument` event per symbol at the start of the run."""
        for index, instrument in enumerate(self.instruments):
            document: dict[str, object] = {
                "type": "instrument",
                "occurred_at": stamp(0),
                "channel": "system",
                "symbol": instrument.symbol,
                "market": instrument.market,
                "name": instrument.name,
                "currency": instrument.currency,
                "lot_size": instrument.lot,
                "listed_shares": instrument.listed_shares,
                "average_daily_volume": instrument.average_daily_volume,
            }
            limits = self.limits(index)
            if limits is not None:
                document["limit_up"], document["limit_down"] = round(limits[0]), round(limits[1])
            stream.emit(0, orjson.dumps(document).decode()[1:], MARKET)
