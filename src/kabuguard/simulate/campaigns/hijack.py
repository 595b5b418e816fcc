"""One hijack: an attacker inside one victim's account, writing events with their labels.

The goal label goes on the first event of the kind that does the campaign's harm (contract:
the successful login for stuffing, the first fraudulent execution or withdrawal for
takeovers, relays and pumps, the first withdrawal to the mule for payout fraud, the e-mail
change for dormant accounts). Loss per event, in yen:
- a fraudulent market sell: the forced-sale cost, (fair price - execution price) x quantity,
  with the tier's price impact (instruments.SELL_IMPACT);
- a fraudulent buy: (execution price - fair price before the attack) x quantity;
- a withdrawal to the attacker: its amount.
The victim's holdings and cash change as the attacker trades.
"""

from __future__ import annotations

from enum import StrEnum
from random import Random

from kabuguard.simulate import render
from kabuguard.simulate.accounts import SLOTS
from kabuguard.simulate.behaviour import customer_id
from kabuguard.simulate.campaigns.access import Access
from kabuguard.simulate.campaigns.scene import Scene
from kabuguard.simulate.campaigns.targets import Target
from kabuguard.simulate.ids import Space, mix, text
from kabuguard.simulate.instruments import SELL_IMPACT, round_price
from kabuguard.simulate.labels import AttackerLabel
from kabuguard.simulate.market import DayPrices


class Goal(StrEnum):
    LOGIN = "login"
    HARM = "harm"  # the first execution or withdrawal
    WITHDRAWAL = "withdrawal"
    CONTACT = "contact"


class Hijack:
    def __init__(
        self,
        scene: Scene,
        label: AttackerLabel,
        goal: Goal,
        *,
        victim: int,
        attack: int,
        rng: Random,
    ) -> None:
        self._scene = scene
        self._label = label
        self._goal = goal
        self.victim = victim
        self._attack = attack  # keys the hijack's session, order and withdrawal ids
        self._rng = rng
        self._customer = customer_id(victim)
        self._sessions = 0
        self._orders = 0
        self._fields = ""
        self.reached = False

    def connect(self, access: Access) -> None:
        """A new attacker session (each later login of the same hijack gets its own)."""
        self._sessions += 1
        session = text("s", mix(Space.ATTACK_SESSION, self._attack << 8 | self._sessions))
        self._fields = access.fields(self._customer, session)

    def login(self, t: int, step: str, factor: str = "", *, complete: bool = True) -> None:
        """A successful login step; `complete` marks the step that lets the attacker in."""
        extra = render.login_extra(factor)
        body = render.login(self._scene.stamp(t), self._fields, step, "success", extra)
        self._emit(t, body, Goal.LOGIN if complete else None)

    def action(self, t: int, kind: str, tail: str = "}", goal: Goal | None = None) -> None:
        self._emit(t, render.action(kind, self._scene.stamp(t), self._fields, tail), goal)

    def sell_holdings(self, t: int, prices: DayPrices) -> int:
        """Market-sell every holding whose market is open; returns when the attacker moves on."""
        accounts, book = self._scene.accounts, self._scene.book
        for slot in range(SLOTS):
            instrument = int(accounts.held[self.victim, slot])
            if instrument < 0 or not book.is_open(book.instruments[instrument].market, t):
                continue
            spec = book.instruments[instrument]
            quantity = int(accounts.quantity[self.victim, slot])
            fair = prices.at(instrument, t)
            price = round_price(fair * (1 - SELL_IMPACT[spec.tier]), spec.decimals)
            loss = round((fair - price) * quantity * spec.yen)
            self._trade(
                t, render.Trade(self._order_id(), "sell", instrument, quantity), None, price, loss
            )
            proceeds = round(price * quantity * spec.yen)
            accounts.held[self.victim, slot] = -1
            accounts.quantity[self.victim, slot] = 0
            accounts.cash[self.victim] += proceeds
            self._scene.ledger.sold_yen[self._label.campaign] += proceeds
            t += self._rng.randint(5, 20)
        return t

    def buy_all(self, t: int, target: Target, *, at_least_a_lot: bool = False) -> int:
        """Spend all cash on the target with a limit far above the market."""
        accounts, spec = self._scene.accounts, self._scene.book.instruments[target.instrument]
        lots = int(accounts.cash[self.victim] // (target.limit * spec.yen * spec.lot))
        if at_least_a_lot:  # an emptied account still takes one lot, on credit
            lots = max(lots, 1)
        if lots == 0:
            return t
        quantity = lots * spec.lot
        loss = round((target.price - target.fair) * quantity * spec.yen)
        trade = render.Trade(self._order_id(), "buy", target.instrument, quantity)
        self._trade(t, trade, target.limit, target.price, loss)
        cost = round(target.price * quantity * spec.yen)
        accounts.cash[self.victim] = max(0, int(accounts.cash[self.victim]) - cost)
        accounts.add_holding(self.victim, target.instrument, quantity)
        self._scene.ledger.bought_yen[self._label.campaign] += cost
        return t + self._rng.randint(10, 40)

    def withdraw(self, t: int, amount: int, destination: str) -> None:
        self._orders += 1
        withdrawal = text("w", mix(Space.ATTACK_WITHDRAWAL, self._attack << 8 | self._orders))
        tail = render.withdrawal_tail(withdrawal, amount, destination)
        body = render.action("withdrawal", self._scene.stamp(t), self._fields, tail)
        self._emit(t, body, Goal.WITHDRAWAL, loss=amount)
        cash = self._scene.accounts.cash
        cash[self.victim] = max(0, int(cash[self.victim]) - amount)

    def _order_id(self) -> str:
        self._orders += 1
        return text("o", mix(Space.ATTACK_ORDER, self._attack << 8 | self._orders))

    def _trade(
        self, t: int, trade: render.Trade, limit: float | None, price: float, loss: int
    ) -> None:
        quotes, stamp = self._scene.quotes, self._scene.stamp
        limit_text = None if limit is None else quotes.price(trade.instrument, limit)
        self._emit(t, render.order(stamp(t), self._fields, trade, quotes, limit_text))
        filled = t + self._rng.randint(1, 4)
        price_text = quotes.price(trade.instrument, price)
        self._emit(
            filled,
            render.execution(stamp(filled), self._customer, trade, quotes, price_text),
            Goal.HARM,
            max(loss, 0),
        )

    def _emit(self, t: int, body: str, kind: Goal | None = None, loss: int = 0) -> None:
        goal = not self.reached and (
            kind is self._goal or (self._goal is Goal.HARM and kind is Goal.WITHDRAWAL)
        )
        self.reached = self.reached or goal
        self._scene.stream.emit(t, body, self._label.body(goal=goal, loss_yen=loss))
