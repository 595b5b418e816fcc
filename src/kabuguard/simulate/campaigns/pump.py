"""The 2025 pump: many hijacked accounts buy one thin stock within about two hours.

Modelled on the case in the domain brief (§1.1.5: 10 hijacked accounts, ¥84 -> ¥110 in about
two hours, the gang selling ~700k shares at the top). A wave has:
- the gang's own accounts (ordinary customers of the broker, numbered after the population)
  buying the symbol quietly the trading day before (attacker, no attack_id);
- the price path: up by 25-35 % over 75-95 minutes, then a collapse (market.PumpPath), with a
  price event every minute;
- the hijacks: password-only victims logged into from residential proxies, VPNs or abroad,
  liquidated, then buying the symbol with everything at limits far above the market (each a
  `Takeover` with campaign "pump", scheduled inside the rise);
- the gang selling its position at the top (attacker, no attack_id).
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from kabuguard.labels import AttackerFactor, Campaign
from kabuguard.simulate import render
from kabuguard.simulate.behaviour import customer_id
from kabuguard.simulate.campaigns import access
from kabuguard.simulate.campaigns.scene import Scene, seeded
from kabuguard.simulate.campaigns.targets import pump_price
from kabuguard.simulate.clock import MINUTE, Market
from kabuguard.simulate.ids import Space, mix, text
from kabuguard.simulate.labels import MARKET, AttackerLabel
from kabuguard.simulate.market import DayPrices, PumpPath

GANG_LABEL = AttackerLabel(Campaign.PUMP, None, (AttackerFactor.PASSWORD,)).body()


class _GangSession:
    """A gang member logged into their own account."""

    def __init__(self, scene: Scene, member: int, key: int, rng: Random) -> None:
        self._scene = scene
        self._customer = customer_id(member)
        self._key = 1 << 52 | key  # above the hijacks' counters
        self._rng = rng
        self._orders = 0
        way_in = access.over_vpn(rng, key) if rng.random() < 0.5 else access.naive(rng, key)
        session = text("s", mix(Space.ATTACK_SESSION, self._key))
        self._fields = way_in.fields(self._customer, session)

    def login(self, t: int) -> None:
        body = render.login(self._scene.stamp(t), self._fields, "password", "success")
        self._scene.stream.emit(t, body, GANG_LABEL)

    def trade(self, t: int, instrument: int, side: str, quantity: int, price: float) -> None:
        """A limit order at `price`, filled within half a minute."""
        quotes, stamp, emit = self._scene.quotes, self._scene.stamp, self._scene.stream.emit
        self._orders += 1
        order_id = text("o", mix(Space.ATTACK_ORDER, self._key << 8 | self._orders))
        trade = render.Trade(order_id, side, instrument, quantity)
        priced = quotes.price(instrument, price)
        emit(t, render.order(stamp(t), self._fields, trade, quotes, priced), GANG_LABEL)
        filled = t + self._rng.randint(1, 30)
        emit(
            filled,
            render.execution(stamp(filled), self._customer, trade, quotes, priced),
            GANG_LABEL,
        )


@dataclass(frozen=True, slots=True)
class GangPosition:
    """The gang buying the symbol quietly before the wave."""

    start: int
    attack: int
    instrument: int
    members: tuple[int, ...]
    shares: int  # per member

    def run(self, scene: Scene, prices: DayPrices) -> None:
        rng = seeded("gang", self.attack)
        lot = scene.book.instruments[self.instrument].lot
        for slot, member in enumerate(self.members):
            gang = _GangSession(scene, member, self.attack << 4 | slot, rng)
            t = self.start + rng.randint(0, 20 * MINUTE)
            gang.login(t)
            orders = rng.randint(5, 10)
            for _ in range(orders):
                t += rng.randint(1 * MINUTE, 8 * MINUTE)
                quantity = self.shares // orders // lot * lot
                gang.trade(t, self.instrument, "buy", quantity, prices.at(self.instrument, t))


@dataclass(frozen=True, slots=True)
class PumpWave:
    start: int
    attack: int
    path: PumpPath
    members: tuple[int, ...]
    shares: int  # per member, sold at the top

    def run(self, scene: Scene, prices: DayPrices) -> None:
        rng = seeded("pump", self.attack)
        instrument = self.path.instrument
        fair = prices.fair[instrument]
        for t in range(self.path.start, self.path.end, MINUTE):
            if scene.book.is_open(Market.TSE, t):
                body = render.price(
                    scene.stamp(t), scene.quotes, instrument, pump_price(scene, self.path, fair, t)
                )
                scene.stream.emit(t, body, MARKET)
        top = self.path.start + self.path.rise
        lot = scene.book.instruments[instrument].lot
        for slot, member in enumerate(self.members):
            gang = _GangSession(scene, member, self.attack << 4 | slot, rng)
            t = top - rng.randint(10 * MINUTE, 15 * MINUTE)
            gang.login(t)
            orders = rng.randint(3, 6)
            for _ in range(orders):
                t += rng.randint(30, 3 * MINUTE)
                quantity = self.shares // orders // lot * lot
                gang.trade(t, instrument, "sell", quantity, pump_price(scene, self.path, fair, t))
        scene.ledger.pump_waves += 1
