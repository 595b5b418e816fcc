"""What a hijacked account is made to buy: the live pump's symbol, else a thin, cheap stock.

Buys carry limit prices far above the market (domain brief §1.1.5). In a pump the execution
follows the pump's price path; a lone hijack buying a thin stock walks up its order book by
5-25 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from kabuguard.simulate.campaigns.scene import Scene
from kabuguard.simulate.clock import Market
from kabuguard.simulate.instruments import Tier, round_price
from kabuguard.simulate.market import DayPrices, PumpPath


@dataclass(frozen=True, slots=True)
class Target:
    instrument: int
    fair: float  # the price before the attack: the base of the buy's loss
    price: float  # execution price
    limit: float


def live_pump(scene: Scene, t: int) -> PumpPath | None:
    for pump in scene.book.pumps:
        if pump.start <= t < pump.start + pump.rise:
            return pump
    return None


def pump_price(scene: Scene, pump: PumpPath, fair: float, t: int) -> float:
    limits = scene.book.limits(pump.instrument)
    ceiling = limits[0] if limits else float("inf")
    return min(round_price(fair * pump.ratio(t), 0), ceiling)


def pick(scene: Scene, prices: DayPrices, t: int, rng: Random) -> Target:
    pump = live_pump(scene, t)
    if pump is not None and pump.instrument in prices.fair:
        fair = prices.fair[pump.instrument]
        price = pump_price(scene, pump, fair, t)
        return Target(pump.instrument, fair, price, _limit(scene, pump.instrument, price, rng))
    book = scene.book
    thin = [
        index
        for index, instrument in enumerate(book.instruments)
        if instrument.tier is Tier.TSE_LOW_PRICED
        or (instrument.tier is Tier.CHINA_SMALL and book.is_open(Market.HKEX, t))
    ]
    instrument = rng.choice(thin)
    fair = prices.at(instrument, t)
    decimals = int(book.decimals[instrument])
    price = round_price(fair * rng.uniform(1.05, 1.25), decimals)
    return Target(instrument, fair, price, _limit(scene, instrument, price, rng))


def _limit(scene: Scene, instrument: int, price: float, rng: Random) -> float:
    limit = round_price(price * rng.uniform(1.1, 1.3), int(scene.book.decimals[instrument]))
    limits = scene.book.limits(instrument)
    return max(price, min(limit, limits[0])) if limits else limit
