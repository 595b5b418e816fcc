"""Customers' orders for the day, vectorised: what, how much, at what price, and the outcome.

Long-term holders rarely trade (a quarter of sessions), swing traders about once a session,
day traders make round trips in their watched names all morning and afternoon, and a house
sale sells every holding. Orders placed while the market is closed are limit orders that fill
at the next open or get cancelled. Holdings and cash follow the fills.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from kabuguard.simulate.accounts import SLOTS, Accounts
from kabuguard.simulate.episodes import SessionKind
from kabuguard.simulate.ids import Space, mix_array
from kabuguard.simulate.instruments import round_prices
from kabuguard.simulate.market import DayPrices, PriceBook
from kabuguard.simulate.population import Population, Style
from kabuguard.simulate.sessions import LOGIN_STEPS_SECONDS, Sessions

LONG_TERM_ORDER_SHARE = 0.25
SWING_ORDERS_PER_SESSION = 1.0
DAY_TRADES = {SessionKind.DAY_OPEN: 3.5, SessionKind.DAY_AFTERNOON: 2.0}  # round trips
SELL_SHARE = 0.4
ORDER_YEN_MEDIAN = (300_000, 500_000, 1_500_000)  # by Style
MARKET_ORDER_SHARE = 0.4
FILL_LATER, FILL_AT_OPEN = 0.5, 0.7  # resting limit orders that fill rather than get cancelled
DAY_TRADER_CANCELS = 0.2  # extra resting bids per round trip, mostly cancelled
BUY, SELL = 0, 1
NOT_YET = -1

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Orders:
    """The day's orders, sorted by time."""

    session: I64
    time: I64
    instrument: I64
    side: npt.NDArray[np.uint8]
    quantity: I64
    limit: npt.NDArray[np.float64]  # NaN: market order
    fill_at: I64  # NOT_YET: cancelled instead
    fill_price: npt.NDArray[np.float64]
    cancel_at: I64
    key: npt.NDArray[np.uint64]


@dataclass(frozen=True, slots=True)
class _Draft:
    session: I64
    time: I64
    instrument: I64
    side: npt.NDArray[np.uint8]
    quantity: I64
    slot: I64  # the holding a sell comes from; -1 for buys
    marketable: npt.NDArray[np.bool_]  # a day trader's limit at the market price
    market_order: npt.NDArray[np.bool_]


def _concatenate(drafts: list[_Draft]) -> _Draft:
    columns = {f.name: np.concatenate([getattr(d, f.name) for d in drafts]) for f in fields(_Draft)}
    by_time = np.argsort(columns["time"], kind="stable")
    return _Draft(**{name: column[by_time] for name, column in columns.items()})


class OrderPlanner:
    def __init__(self, population: Population, accounts: Accounts, book: PriceBook) -> None:
        self._population = population
        self._accounts = accounts
        self._book = book
        self._lot = np.array([i.lot for i in book.instruments], dtype=np.int64)
        self._yen = np.array([i.yen for i in book.instruments])

    def plan(
        self, day: int, sessions: Sessions, prices: DayPrices, rng: np.random.Generator
    ) -> Orders:
        draft = _concatenate(
            [
                self._regular(sessions, prices, rng),
                self._day_trades(sessions, prices, rng),
                self._house_sales(sessions),
            ]
        )
        orders = self._outcomes(day, draft, prices, rng)
        self._settle(sessions, draft, orders)
        return orders

    def _regular(self, sessions: Sessions, prices: DayPrices, rng: np.random.Generator) -> _Draft:
        style = self._population.style[sessions.customer]
        regular = sessions.kind == SessionKind.REGULAR
        size = len(style)
        count = np.where(
            regular & (style == Style.LONG_TERM),
            rng.random(size) < LONG_TERM_ORDER_SHARE,
            np.where(
                regular & (style == Style.SWING), rng.poisson(SWING_ORDERS_PER_SESSION, size), 0
            ),
        )
        session = np.repeat(np.arange(size), count)
        customer = sessions.customer[session]
        n = len(session)
        time = _inside(sessions, session, rng.uniform(0.2, 0.9, n))
        held = self._accounts.held[customer]
        slot = _pick_slot(held, rng)
        sell = (slot >= 0) & (rng.random(n) < SELL_SHARE)
        watched = self._accounts.watched[customer, rng.integers(0, 3, n)].astype(np.int64)
        instrument = np.where(sell, held[np.arange(n), np.maximum(slot, 0)], watched)
        median = np.array(ORDER_YEN_MEDIAN)[style[session]]
        budget = np.minimum(rng.lognormal(np.log(median), 0.8), self._accounts.cash[customer])
        lots = self._lot[instrument]
        buying = np.maximum(1, budget // (self._yen_price(instrument, time, prices) * lots)) * lots
        holding = self._accounts.quantity[customer, np.maximum(slot, 0)]
        selling = np.maximum(lots, (holding * rng.uniform(0.3, 1.0, n)) // lots * lots)
        return _Draft(
            session=session,
            time=time,
            instrument=instrument,
            side=sell.astype(np.uint8),
            quantity=np.where(sell, np.minimum(selling, holding), buying).astype(np.int64),
            slot=np.where(sell, slot, -1),
            marketable=np.zeros(n, dtype=bool),
            market_order=rng.random(n) < MARKET_ORDER_SHARE,
        )

    def _day_trades(
        self, sessions: Sessions, prices: DayPrices, rng: np.random.Generator
    ) -> _Draft:
        """Round trips (a buy, later a sell of the same quantity), plus cancelled resting bids."""
        mean = np.zeros(len(sessions.kind))
        for kind, trades in DAY_TRADES.items():
            mean[sessions.kind == kind] = trades
        session = np.repeat(np.arange(len(mean)), rng.poisson(mean))
        customer = sessions.customer[session]
        n = len(session)
        instrument = self._accounts.watched[customer, rng.integers(0, 3, n)].astype(np.int64)
        bought = _inside(sessions, session, rng.uniform(0.05, 0.8, n))
        sold = np.clip(bought + rng.integers(60, 3600, n), bought + 1, sessions.end[session] - 1)
        median = ORDER_YEN_MEDIAN[Style.DAY_TRADER]
        budget = np.minimum(rng.lognormal(np.log(median), 0.6, n), self._accounts.cash[customer])
        lots = self._lot[instrument]
        price = self._yen_price(instrument, bought, prices)
        quantity = (np.maximum(1, budget // (price * lots)) * lots).astype(np.int64)
        resting = np.flatnonzero(rng.random(n) < DAY_TRADER_CANCELS)
        total = 2 * n + len(resting)
        return _Draft(
            session=np.concatenate([session, session, session[resting]]),
            time=np.concatenate([bought, sold, bought[resting] + 30]),
            instrument=np.concatenate([instrument, instrument, instrument[resting]]),
            side=np.concatenate(
                [np.full(n, BUY), np.full(n, SELL), np.full(len(resting), BUY)]
            ).astype(np.uint8),
            quantity=np.concatenate([quantity, quantity, quantity[resting]]),
            slot=np.full(total, -1),
            marketable=np.arange(total) < 2 * n,
            market_order=np.zeros(total, dtype=bool),
        )

    def _house_sales(self, sessions: Sessions) -> _Draft:
        """Every holding, at market, a minute or so apart."""
        selling = np.flatnonzero(sessions.kind == SessionKind.HOUSE_SALE)
        session = np.repeat(selling, SLOTS)
        slot = np.tile(np.arange(SLOTS), len(selling))
        instrument = self._accounts.held[sessions.customer[session], slot].astype(np.int64)
        keep = instrument >= 0
        session, slot, instrument = session[keep], slot[keep], instrument[keep]
        n = len(session)
        return _Draft(
            session=session,
            time=sessions.start[session] + LOGIN_STEPS_SECONDS + 45 * slot,
            instrument=instrument,
            side=np.full(n, SELL, dtype=np.uint8),
            quantity=self._accounts.quantity[sessions.customer[session], slot],
            slot=slot,
            marketable=np.zeros(n, dtype=bool),
            market_order=np.ones(n, dtype=bool),
        )

    def _yen_price(self, instrument: I64, time: I64, prices: DayPrices) -> npt.NDArray[np.float64]:
        yen: npt.NDArray[np.float64] = prices.many(instrument, time) * self._yen[instrument]
        return yen

    def _outcomes(
        self, day: int, draft: _Draft, prices: DayPrices, rng: np.random.Generator
    ) -> Orders:
        """Limit prices near the market; fills now, later, at the next open, or cancellations."""
        n = len(draft.session)
        price = prices.many(draft.instrument, draft.time)
        is_open, next_open = self._book.market_state(draft.instrument, draft.time)
        market_order = draft.market_order & is_open
        direction = np.where(draft.side == BUY, 1.0, -1.0)
        marketable = draft.marketable | (rng.random(n) < 0.5)
        offset = np.where(marketable, rng.uniform(0, 0.005, n), -rng.uniform(0.002, 0.01, n))
        limit = round_prices(
            price * (1 + direction * offset), self._book.decimals[draft.instrument]
        )
        immediate = is_open & (market_order | marketable)
        later = is_open & ~immediate & (rng.random(n) < FILL_LATER)
        at_open = ~is_open & (rng.random(n) < FILL_AT_OPEN)
        fill_at = np.select(
            [immediate, later, at_open],
            [
                draft.time + rng.integers(1, 20, n),
                draft.time + rng.integers(60, 1800, n),
                next_open + rng.integers(0, 120, n),
            ],
            NOT_YET,
        )
        return Orders(
            session=draft.session,
            time=draft.time,
            instrument=draft.instrument,
            side=draft.side,
            quantity=draft.quantity,
            limit=np.where(market_order, np.nan, limit),
            fill_at=fill_at,
            fill_price=np.where(immediate, price, limit),
            cancel_at=draft.time + rng.integers(60, 1800, n),
            key=mix_array(Space.ORDER, (day << 32) + np.arange(n, dtype=np.int64)),
        )

    def _settle(self, sessions: Sessions, draft: _Draft, orders: Orders) -> None:
        """Cash and holdings after the day's fills (day traders' round trips only move cash)."""
        accounts = self._accounts
        filled = orders.fill_at != NOT_YET
        customer = sessions.customer[draft.session]
        value = (orders.fill_price * orders.quantity * self._yen[draft.instrument]).astype(np.int64)
        np.add.at(
            accounts.cash, customer[filled], np.where(draft.side == SELL, value, -value)[filled]
        )
        np.maximum(accounts.cash, 0, out=accounts.cash)
        sells = filled & (draft.slot >= 0)
        np.subtract.at(
            accounts.quantity, (customer[sells], draft.slot[sells]), draft.quantity[sells]
        )
        emptied = accounts.quantity <= 0
        accounts.held[emptied] = -1
        accounts.quantity[emptied] = 0
        kind = sessions.kind[draft.session]
        day_trade = (kind == SessionKind.DAY_OPEN) | (kind == SessionKind.DAY_AFTERNOON)
        buys = np.flatnonzero(filled & (draft.side == BUY) & ~day_trade)
        for who, instrument, quantity in zip(
            customer[buys].tolist(),
            draft.instrument[buys].tolist(),
            draft.quantity[buys].tolist(),
            strict=True,
        ):
            accounts.add_holding(who, instrument, quantity)


def _inside(sessions: Sessions, session: I64, share: npt.NDArray[np.float64]) -> I64:
    """A time `share` of the way through each session, once the login steps are done."""
    start, end = sessions.start[session], sessions.end[session]
    offset = LOGIN_STEPS_SECONDS + ((end - start - LOGIN_STEPS_SECONDS) * share).astype(np.int64)
    inside: I64 = np.minimum(start + offset, end - 1)
    return inside


def _pick_slot(held: npt.NDArray[np.int16], rng: np.random.Generator) -> I64:
    """A random non-empty holding slot per row, -1 when the row holds nothing."""
    noise = rng.random(held.shape) + (held >= 0)  # non-empty slots always outrank empty ones
    best = noise.argmax(axis=1)
    return np.where(held[np.arange(len(held)), best] >= 0, best, -1)
