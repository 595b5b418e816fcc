"""Customers' planned day turned into event lines: the simulator's hot loop.

Work is done a window at a time and a column at a time: the slice of each track due in the
window is rendered with list comprehensions over columns (the render module's builders), and
the lines go to the stream in one call. A session's common fields are rendered once (twice if
the carrier moves its address mid-session) and reused by all its events.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from kabuguard.simulate import render
from kabuguard.simulate.accounts import Accounts
from kabuguard.simulate.clock import Timestamps
from kabuguard.simulate.devices import user_agents
from kabuguard.simulate.ids import Space, device_counter, mix, mix_array, text, texts
from kabuguard.simulate.ippools import dotted, dotted_many
from kabuguard.simulate.labels import CUSTOMER, CUSTOMER_BY_CODE
from kabuguard.simulate.names import BANKS, holder_name
from kabuguard.simulate.plan import DayPlan, Item, LoginStep
from kabuguard.simulate.population import LoginFactor, Population
from kabuguard.simulate.stream import EventStream

FACTOR_TEXT = ("", "sms_otp", "email_otp", "totp", "passkey")  # by LoginFactor
_FACTOR_EXTRA = ("", *(render.login_extra(factor) for factor in FACTOR_TEXT[1:]))
_STEP_TEXT = ("password", "password", "passkey", "second_factor")  # by LoginStep
_RESULT_TEXT = ("failure", "success", "success", "success")
SIDES = ("buy", "sell")
_END = np.iinfo(np.int64).max


def customer_id(customer: int) -> str:
    return f"c{customer:07d}"


def device_id(customer: int, generation: int, *, phone: bool) -> str:
    return text("d", mix(Space.DEVICE, device_counter(customer, generation, phone=phone)))


def destination_id(customer: int, generation: int) -> str:
    return text("dst", mix(Space.DESTINATION, customer << 8 | generation))


class Customers:
    """The customers' side of the output: the planned days, and their own logins on demand."""

    def __init__(
        self,
        population: Population,
        accounts: Accounts,
        quotes: render.Quotes,
        stamp: Timestamps,
        stream: EventStream,
    ) -> None:
        self.population = population
        self.accounts = accounts
        self.quotes = quotes
        self.stamp = stamp
        self.stream = stream
        agents = user_agents()
        self.agents = (*agents.desktop, *agents.mobile)  # phones after desktops
        self._today: _Day | None = None

    def agent(self, customer: int, *, phone: bool) -> str:
        if phone:
            return self.agents[
                len(user_agents().desktop) + int(self.accounts.phone_agent[customer])
            ]
        return self.agents[int(self.population.desktop_agent[customer])]

    def start_day(self, plan: DayPlan) -> None:
        self._today = _Day(self, plan)

    def render_until(self, end: int = _END) -> None:
        """Render every planned item of the day earlier than `end` not rendered yet."""
        if self._today is not None:
            self._today.render_until(end)

    def own_login(self, customer: int, t: int, counter: int, *, phone: bool) -> None:
        """The customer's own login outside the day's plan, from home, then a logout."""
        fields = render.session_fields(
            customer_id(customer),
            text("s", mix(Space.SESSION, 1 << 55 | counter)),  # above any planned day's counter
            address=dotted(int(self.accounts.home_address[customer])),
            agent=self.agent(customer, phone=phone),
            device=device_id(customer, int(self.accounts.phone_generation[customer]), phone=phone),
            channel="app" if phone and self.population.app_user[customer] else "web",
        )
        emit, stamp = self.stream.emit, self.stamp
        emit(t, render.login(stamp(t), fields, "password", "success"), CUSTOMER)
        factor = int(self.population.factor[customer])
        if factor != LoginFactor.NONE:
            coded = t + 12
            body = render.login(
                stamp(coded), fields, "second_factor", "success", _FACTOR_EXTRA[factor]
            )
            emit(coded, body, CUSTOMER)
        emit(t + 300, render.action("logout", stamp(t + 300), fields), CUSTOMER)


class _Day:
    """One day's plan being rendered; remembers how far along each track it is."""

    def __init__(self, customers: Customers, plan: DayPlan) -> None:
        self._customers = customers
        self._plan = plan
        self._stamp = customers.stamp.many
        sessions = plan.sessions
        self._labels = [CUSTOMER_BY_CODE[tag] for tag in sessions.tag.tolist()]
        self._owner = list(map("c%07d".__mod__, sessions.customer.tolist()))
        self._factor = customers.population.factor[sessions.customer]
        count = len(sessions.start)
        # Index s: session s's fields; index count + s: after its carrier moved the address.
        self._fields_text = self._session_fields(np.arange(count), sessions.address) + [""] * count
        churned = np.flatnonzero(sessions.churn_address > 0)
        moved = self._session_fields(churned, sessions.churn_address[churned])
        for session, fields in zip(churned.tolist(), moved, strict=True):
            self._fields_text[count + session] = fields
        self._done = [0] * 7  # per track: rows rendered so far

    def render_until(self, end: int) -> None:
        plan = self._plan
        tracks = (
            (plan.logins, self._logins),
            (plan.order_times, self._orders),
            (plan.fills, self._fills),
            (plan.cancels, self._cancels),
            (plan.logouts, self._logouts),
            (plan.withdrawal_times, self._withdrawals),
            (plan.rare, self._rare),
        )
        for position, (track, render_rows) in enumerate(tracks):
            begin, stop = self._done[position], int(np.searchsorted(track.time, end))
            if stop > begin:
                self._done[position] = stop
                render_rows(track.ref[begin:stop], track.time[begin:stop], track.kind[begin:stop])

    def _session_fields(
        self, which: npt.NDArray[np.int64], addresses: npt.NDArray[np.uint32]
    ) -> list[str]:
        population, accounts, sessions = (
            self._customers.population, self._customers.accounts, self._plan.sessions,
        )  # fmt: skip
        customers = sessions.customer[which]
        phone = sessions.phone[which]
        generation = accounts.phone_generation[customers].astype(np.int64)
        devices = mix_array(Space.DEVICE, customers << 9 | np.where(phone, generation + 1, 0))
        phone_agent = accounts.phone_agent[customers].astype(np.int64) + len(user_agents().desktop)
        agents = np.where(phone, phone_agent, population.desktop_agent[customers])
        return render.many_session_fields(
            list(map('"customer_id":"c%07d",'.__mod__, customers.tolist())),
            texts("s", sessions.key[which]),
            ["app" if app else "web" for app in sessions.app[which].tolist()],
            dotted_many(addresses),
            agents=list(map(self._customers.agents.__getitem__, agents.tolist())),
            devices=texts(',"device_id":"d', devices, '"'),  # as device_id() renders them
        )

    def _fields(self, sessions: npt.NDArray[np.int64], times: npt.NDArray[np.int64]) -> list[str]:
        """Each event's session fields as of its time (a carrier may move the address)."""
        moved = times >= self._plan.sessions.churn_at[sessions]
        keys = sessions + moved * len(self._plan.sessions.start)
        return list(map(self._fields_text.__getitem__, keys.tolist()))

    def _emit(
        self, sessions: npt.NDArray[np.int64], times: npt.NDArray[np.int64], bodies: list[str]
    ) -> None:
        labels = list(map(self._labels.__getitem__, sessions.tolist()))
        self._customers.stream.add(times, bodies, labels)

    def _logins(
        self,
        sessions: npt.NDArray[np.int64],
        times: npt.NDArray[np.int64],
        steps: npt.NDArray[np.uint8],
    ) -> None:
        kinds = steps.tolist()
        extras = [
            _FACTOR_EXTRA[factor] if step >= LoginStep.PASSKEY else ""
            for step, factor in zip(kinds, self._factor[sessions].tolist(), strict=True)
        ]
        bodies = render.logins(
            self._stamp(times),
            self._fields(sessions, times),
            list(map(_STEP_TEXT.__getitem__, kinds)),
            list(map(_RESULT_TEXT.__getitem__, kinds)),
            extras,
        )
        self._emit(sessions, times, bodies)

    def _orders(
        self, rows: npt.NDArray[np.int64], times: npt.NDArray[np.int64], _: npt.NDArray[np.uint8]
    ) -> None:
        orders, quotes = self._plan.orders, self._customers.quotes
        sessions = orders.session[rows]
        instruments = orders.instrument[rows].tolist()
        limits = orders.limit[rows]
        market = np.isnan(limits)
        limit_texts = quotes.prices(instruments, np.where(market, 0.0, limits).tolist())
        bodies = render.orders(
            self._stamp(times),
            self._fields(sessions, times),
            self._order_ids(rows),
            sides=list(map(SIDES.__getitem__, orders.side[rows].tolist())),
            symbols=list(map(quotes.symbol.__getitem__, instruments)),
            quantities=orders.quantity[rows].tolist(),
            priced=[
                render.MARKET_ORDER if at_market else render.limit_priced(limit)
                for at_market, limit in zip(market.tolist(), limit_texts, strict=True)
            ],
            currencies=list(map(quotes.currency.__getitem__, instruments)),
        )
        self._emit(sessions, times, bodies)

    def _fills(
        self, rows: npt.NDArray[np.int64], times: npt.NDArray[np.int64], _: npt.NDArray[np.uint8]
    ) -> None:
        orders, quotes = self._plan.orders, self._customers.quotes
        sessions = orders.session[rows]
        instruments = orders.instrument[rows].tolist()
        bodies = render.executions(
            self._stamp(times),
            self._owners(sessions),
            self._order_ids(rows),
            sides=list(map(SIDES.__getitem__, orders.side[rows].tolist())),
            symbols=list(map(quotes.symbol.__getitem__, instruments)),
            quantities=orders.quantity[rows].tolist(),
            prices=quotes.prices(instruments, orders.fill_price[rows].tolist()),
            currencies=list(map(quotes.currency.__getitem__, instruments)),
        )
        self._emit(sessions, times, bodies)

    def _cancels(
        self, rows: npt.NDArray[np.int64], times: npt.NDArray[np.int64], _: npt.NDArray[np.uint8]
    ) -> None:
        sessions = self._plan.orders.session[rows]
        bodies = render.cancellations(
            self._stamp(times), self._owners(sessions), self._order_ids(rows)
        )
        self._emit(sessions, times, bodies)

    def _order_ids(self, rows: npt.NDArray[np.int64]) -> list[str]:
        return texts("o", self._plan.orders.key[rows])

    def _owners(self, sessions: npt.NDArray[np.int64]) -> list[str]:
        return list(map(self._owner.__getitem__, sessions.tolist()))

    def _logouts(
        self,
        sessions: npt.NDArray[np.int64],
        times: npt.NDArray[np.int64],
        _: npt.NDArray[np.uint8],
    ) -> None:
        fields = self._fields(sessions, times)
        bodies = render.actions("logout", self._stamp(times), fields, ["}"] * len(fields))
        self._emit(sessions, times, bodies)

    def _withdrawals(
        self, rows: npt.NDArray[np.int64], times: npt.NDArray[np.int64], _: npt.NDArray[np.uint8]
    ) -> None:
        withdrawals = self._plan.withdrawals
        sessions = withdrawals.session[rows]
        customers = self._plan.sessions.customer[sessions].tolist()
        generations = self._customers.accounts.payout_generation[customers].tolist()
        tails = [
            render.withdrawal_tail(text("w", key), amount, destination_id(customer, generation))
            for key, amount, customer, generation in zip(
                withdrawals.key[rows].tolist(),
                withdrawals.amount[rows].tolist(),
                customers,
                generations,
                strict=True,
            )
        ]
        fields = self._fields(sessions, times)
        self._emit(sessions, times, render.actions("withdrawal", self._stamp(times), fields, tails))

    def _rare(
        self,
        sessions: npt.NDArray[np.int64],
        times: npt.NDArray[np.int64],
        kinds: npt.NDArray[np.uint8],
    ) -> None:
        for position, kind in enumerate(kinds.tolist()):
            who, when = sessions[position : position + 1], times[position : position + 1]
            session = int(who[0])
            if kind == Item.PAYOUT:
                name, tail = "payout_change", self._payout_tail(session)
            elif kind == Item.CREDENTIAL:
                passkey = self._factor[session] == LoginFactor.PASSKEY
                credential = "passkey" if passkey else "totp"
                name, tail = "credential_change", render.credential_tail(credential, "added")
            else:
                name, tail = "contact_change", render.contact_tail("email")
            fields = self._fields(who, when)
            self._emit(who, when, render.actions(name, self._stamp(when), fields, [tail]))

    def _payout_tail(self, session: int) -> str:
        customer = int(self._plan.sessions.customer[session])
        accounts, population = self._customers.accounts, self._customers.population
        holder = holder_name(
            int(population.family_name[customer]), int(population.given_name[customer])
        )
        return render.payout_tail(
            destination_id(customer, int(accounts.payout_generation[customer])),
            BANKS[int(accounts.bank[customer])],
            int(accounts.branch[customer]),
            int(accounts.account_number[customer]),
            holder,
            # The customer approves the change with their own second factor; only a passkey
            # satisfies the broker's transaction signing (an attacker has none to offer).
            approved_with=FACTOR_TEXT[int(population.factor[customer])],
        )
