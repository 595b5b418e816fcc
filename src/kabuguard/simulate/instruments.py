"""The instrument universe, in liquidity tiers, and the exchange rules prices obey.

Large caps carry their real codes and names at rough 2025 price levels. Small caps,
low-priced stocks and the small foreign names are synthetic, so no real company is ever shown
as a pump target: TSE ones use the alphanumeric code format the exchange has issued since 2024
(e.g. "285A"); their names, US tickers and Hong Kong codes are invented (any match with a real
listing is a coincidence). The universe does not depend on the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import cache

import numpy as np
import numpy.typing as npt

from kabuguard.simulate.clock import Market


class Tier(IntEnum):
    TSE_LARGE = 0
    TSE_SMALL = 1  # TSE Standard/Growth small caps: low average daily volume
    TSE_LOW_PRICED = 2  # under ¥300: the 2025 pump targets
    US_LARGE = 3
    US_SMALL = 4
    CHINA_LARGE = 5  # Hong Kong and Shanghai-A large caps
    CHINA_SMALL = 6  # Hong Kong small caps: abused in 2025 (brokers halted ~1,300 of them)


# Yen per unit of currency, fixed for the run (rough 2025 levels).
YEN_PER = {"JPY": 1.0, "USD": 150.0, "HKD": 19.0, "CNY": 20.5}
# Daily volatility of the price walk by tier.
DAILY_VOLATILITY = (0.015, 0.03, 0.045, 0.02, 0.06, 0.02, 0.06)
# Price impact of a market sell in the tier: the "forced-sale cost" of a fraudulent liquidation.
SELL_IMPACT = (0.0005, 0.01, 0.02, 0.0005, 0.02, 0.001, 0.03)


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    market: Market
    name: str
    currency: str
    tier: Tier
    price: float  # at the start of the run
    lot: int
    listed_shares: int
    average_daily_volume: int

    @property
    def yen(self) -> float:
        """Yen per unit of the instrument's currency."""
        return YEN_PER[self.currency]

    @property
    def decimals(self) -> int:
        """Decimal places of the price tick."""
        if self.currency == "JPY":
            return 0
        return 3 if self.price < 1 else 2


# (code, name, price in yen, listed shares in millions, average daily volume in thousands)
_TSE_LARGE = (
    ("7203", "Toyota Motor", 2700, 15_794, 25_000),
    ("6758", "Sony Group", 3500, 6_150, 10_000),
    ("9984", "SoftBank Group", 8000, 1_470, 8_000),
    ("8306", "Mitsubishi UFJ FG", 1800, 12_000, 40_000),
    ("9432", "NTT", 150, 90_550, 150_000),
    ("6861", "Keyence", 60_000, 243, 500),
    ("8035", "Tokyo Electron", 23_000, 471, 3_000),
    ("9983", "Fast Retailing", 45_000, 318, 600),
    ("4063", "Shin-Etsu Chemical", 4500, 2_000, 6_000),
    ("7974", "Nintendo", 10_000, 1_300, 5_000),
    ("8058", "Mitsubishi Corp", 2600, 4_000, 12_000),
    ("8316", "Sumitomo Mitsui FG", 3500, 3_900, 12_000),
    ("6501", "Hitachi", 3800, 4_600, 10_000),
    ("7267", "Honda Motor", 1500, 5_300, 15_000),
    ("9433", "KDDI", 2500, 4_200, 10_000),
    ("4502", "Takeda Pharmaceutical", 4200, 1_600, 5_000),
    ("6098", "Recruit Holdings", 9000, 1_600, 4_000),
    ("8001", "Itochu", 7500, 1_600, 4_000),
    ("8766", "Tokio Marine", 5500, 2_000, 5_000),
    ("7011", "Mitsubishi Heavy", 2500, 3_400, 30_000),
    ("6702", "Fujitsu", 3200, 1_900, 6_000),
    ("4568", "Daiichi Sankyo", 3600, 1_900, 6_000),
    ("9434", "SoftBank Corp", 210, 47_900, 80_000),
    ("2914", "Japan Tobacco", 4200, 2_000, 4_000),
    ("8411", "Mizuho FG", 3800, 2_500, 8_000),
)
_US_LARGE = (
    ("AAPL", Market.NASDAQ, "Apple", 210.0),
    ("MSFT", Market.NASDAQ, "Microsoft", 420.0),
    ("NVDA", Market.NASDAQ, "NVIDIA", 120.0),
    ("AMZN", Market.NASDAQ, "Amazon.com", 190.0),
    ("GOOGL", Market.NASDAQ, "Alphabet", 160.0),
    ("META", Market.NASDAQ, "Meta Platforms", 550.0),
    ("TSLA", Market.NASDAQ, "Tesla", 250.0),
    ("AMD", Market.NASDAQ, "Advanced Micro Devices", 110.0),
    ("KO", Market.NYSE, "Coca-Cola", 70.0),
    ("JNJ", Market.NYSE, "Johnson & Johnson", 155.0),
    ("V", Market.NYSE, "Visa", 330.0),
    ("JPM", Market.NYSE, "JPMorgan Chase", 240.0),
)
# (code, market, name, currency, price, lot)
_CHINA_LARGE = (
    ("0700", Market.HKEX, "Tencent", "HKD", 380.0, 100),
    ("9988", Market.HKEX, "Alibaba", "HKD", 100.0, 100),
    ("1810", Market.HKEX, "Xiaomi", "HKD", 40.0, 200),
    ("3690", Market.HKEX, "Meituan", "HKD", 140.0, 100),
    ("0005", Market.HKEX, "HSBC Holdings", "HKD", 85.0, 400),
    ("1211", Market.HKEX, "BYD", "HKD", 350.0, 500),
    ("600519", Market.SSE, "Kweichow Moutai", "CNY", 1500.0, 100),
    ("601318", Market.SSE, "Ping An", "CNY", 50.0, 100),
    ("600036", Market.SSE, "China Merchants Bank", "CNY", 40.0, 100),
    ("601398", Market.SSE, "ICBC", "CNY", 6.5, 100),
)
_US_SMALL = ("QNTX", "VYRA", "ZELB", "MOXT", "TRVX", "KWIP", "NUVR", "GLYX", "HOPR", "DYMA")
_PLACES = (
    "Kanto", "Nishi", "Chuo", "Hokuriku", "Sanyo", "Tokai", "Kita", "Minami", "Shinsei",
    "Daiichi", "Yamato", "Asahi", "Heiwa", "Kyowa", "Fuji", "Sakura",
)  # fmt: skip
_TRADES = (
    "Precision", "Foods", "Logistics", "Pharma", "Systems", "Holdings", "Materials",
    "Electric", "Bio", "Realty", "Gaming", "Energy", "Retail", "Medical",
)  # fmt: skip
_CODE_LETTERS = "ACDFGHJKLMNPRSTUWXY"  # TSE leaves out B, E, I, O, Q, V, Z
_SMALL_CAPS, _LOW_PRICED, _CHINA_SMALL = 120, 50, 20


@cache
def universe() -> tuple[Instrument, ...]:
    rng = np.random.default_rng(2025_04_01)  # fixed: the same universe for every seed
    codes = _tse_codes(rng, _SMALL_CAPS + _LOW_PRICED)
    return (
        *(
            Instrument(
                code,
                Market.TSE,
                name,
                "JPY",
                Tier.TSE_LARGE,
                price,
                100,
                listed * 10**6,
                adv * 1000,
            )
            for code, name, price, listed, adv in _TSE_LARGE
        ),
        *(_synthetic_tse(rng, code, Tier.TSE_SMALL) for code in codes[:_SMALL_CAPS]),
        *(_synthetic_tse(rng, code, Tier.TSE_LOW_PRICED) for code in codes[_SMALL_CAPS:]),
        *(
            Instrument(ticker, market, name, "USD", Tier.US_LARGE, price, 1, 5 * 10**9, 40 * 10**6)
            for ticker, market, name, price in _US_LARGE
        ),
        *(_us_small(rng, ticker) for ticker in _US_SMALL),
        *(
            Instrument(
                code, market, name, currency, Tier.CHINA_LARGE, price, lot, 10**10, 2 * 10**7
            )
            for code, market, name, currency, price, lot in _CHINA_LARGE
        ),
        *(
            _hong_kong_small(rng, code)
            for code in sorted(rng.choice(np.arange(8001, 8999), _CHINA_SMALL, replace=False))
        ),
    )


def _tse_codes(rng: np.random.Generator, count: int) -> list[str]:
    numbers = rng.choice(np.arange(130, 600), count, replace=False)
    letters = rng.choice(list(_CODE_LETTERS), count)
    return [f"{number}{letter}" for number, letter in zip(numbers, letters, strict=True)]


def _name(rng: np.random.Generator) -> str:
    return f"{rng.choice(_PLACES)} {rng.choice(_TRADES)}"


def _synthetic_tse(rng: np.random.Generator, code: str, tier: Tier) -> Instrument:
    if tier is Tier.TSE_LOW_PRICED:
        price = float(np.clip(rng.lognormal(np.log(120), 0.5), 30, 299))
        adv = int(rng.lognormal(np.log(150_000), 0.8))
        listed = int(rng.integers(10, 200)) * 10**6
    else:
        price = float(np.clip(rng.lognormal(np.log(900), 0.6), 300, 3000))
        adv = int(rng.lognormal(np.log(30_000), 0.9))
        listed = int(rng.integers(5, 60)) * 10**6
    return Instrument(code, Market.TSE, _name(rng), "JPY", tier, round(price), 100, listed, adv)


def _us_small(rng: np.random.Generator, ticker: str) -> Instrument:
    price = round(float(rng.uniform(0.4, 5.0)), 2)
    listed, adv = int(rng.integers(20, 200)) * 10**6, int(rng.integers(50, 2000)) * 1000
    return Instrument(
        ticker, Market.NASDAQ, f"{ticker} Therapeutics", "USD", Tier.US_SMALL, price, 1, listed, adv
    )


def _hong_kong_small(rng: np.random.Generator, code: int) -> Instrument:
    price = round(float(rng.uniform(0.1, 2.0)), 3)
    listed, adv = int(rng.integers(300, 3000)) * 10**6, int(rng.integers(100, 5000)) * 1000
    name = f"{_name(rng)} (HK)"
    return Instrument(
        f"{code:04d}", Market.HKEX, name, "HKD", Tier.CHINA_SMALL, price, 2000, listed, adv
    )


# TSE daily price limits (値幅制限): below each price, the limit either side of the close.
_TSE_LIMITS = (
    (100, 30), (200, 50), (500, 80), (700, 100), (1000, 150), (1500, 300), (2000, 400),
    (3000, 500), (5000, 700), (7000, 1000), (10_000, 1500), (15_000, 3000), (20_000, 4000),
    (30_000, 5000), (50_000, 7000), (70_000, 10_000), (100_000, 15_000),
)  # fmt: skip
_LIMIT_BELOW = np.array([below for below, _ in _TSE_LIMITS], dtype=np.float64)
_LIMIT = np.array([limit for _, limit in _TSE_LIMITS] + [30_000], dtype=np.float64)


def tse_limits(previous_close: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return _LIMIT[np.searchsorted(_LIMIT_BELOW, previous_close, side="right")]


def round_prices(
    prices: npt.NDArray[np.float64], decimals: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Round to each instrument's tick and keep at least one tick."""
    scale = 10.0**decimals
    rounded: npt.NDArray[np.float64] = np.maximum(np.round(prices * scale), 1.0) / scale
    return rounded


def round_price(value: float, decimals: int) -> float:
    return max(round(value, decimals), 10.0**-decimals)
