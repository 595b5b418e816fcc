"""Credential stuffing (OWASP OAT-008): a list of stolen pairs tried against the login page.

A burst is cut into slices of at most an hour, so its tries never all wait in memory. Each
try is one password step from a residential proxy (a new home or mobile address per try) or
from a handful of data-centre addresses, with an automation client string or rotated browser
strings and no device id. Usernames are known customers or unknown (`attempted_username`);
a try on a known customer succeeds when the list holds their current password:
- on a password-only account that is a hijack: the successful login is its goal (loss 0:
  this simulator's checkers validate and leave, selling the account on);
- on an account with a second factor the bot gets no further (attacker, no attack_id).
Failed tries are rendered as columns, like customers' events; hits one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

import numpy as np
import numpy.typing as npt

from kabuguard.labels import AttackerFactor, Campaign
from kabuguard.simulate import render
from kabuguard.simulate.behaviour import customer_id
from kabuguard.simulate.campaigns import access
from kabuguard.simulate.campaigns.hijack import Goal, Hijack
from kabuguard.simulate.campaigns.scene import Scene, seeded
from kabuguard.simulate.campaigns.takeover import attack_id
from kabuguard.simulate.ids import Space, mix_array, texts
from kabuguard.simulate.labels import AttackerLabel
from kabuguard.simulate.market import DayPrices

KNOWN_USERNAME_SHARE = 0.6  # of failed tries: a customer's username, the password fails
NO_ENTRY = -1  # a hit on an account with a second factor: no hijack
_MISS_LABEL = AttackerLabel(Campaign.STUFFING, None, ()).body()
_HIT_WITHOUT_ENTRY_LABEL = AttackerLabel(Campaign.STUFFING, None, (AttackerFactor.PASSWORD,)).body()


@dataclass(frozen=True, slots=True)
class Hit:
    customer: int
    number: int  # hijack number in the campaign, or NO_ENTRY
    attack: int


@dataclass(frozen=True, slots=True)
class StuffingSlice:
    start: int
    end: int
    burst: int
    tries: int  # failed tries on known or unknown usernames
    hits: tuple[Hit, ...]
    known_customers: int  # population size: failed tries pick known usernames from it
    datacentre: bool
    rotating_agents: bool

    def run(self, scene: Scene, prices: DayPrices) -> None:
        rng = seeded("stuffing", self.burst, self.start)
        draws = np.random.default_rng(rng.getrandbits(64))  # for the columns of failed tries
        total = self.tries + len(self.hits)
        times = np.sort(draws.integers(self.start, self.end, total))
        if self.datacentre:
            servers = [access.datacentre(rng) for _ in range(rng.randint(8, 30))]
            addresses = [servers[i] for i in draws.integers(0, len(servers), total).tolist()]
        else:
            addresses = access.residential_proxies(draws, total)
        clients = [access.bot_agent(rng, self.rotating_agents) for _ in range(rng.randint(1, 6))]
        agents = [clients[i] for i in draws.integers(0, len(clients), total).tolist()]
        counters = (1 << 54 | self.burst << 24) + np.arange(total, dtype=np.int64)
        sessions = texts("s", mix_array(Space.ATTACK_SESSION, counters))
        hit_at = rng.sample(range(total), len(self.hits))
        missed = np.ones(total, dtype=bool)
        missed[hit_at] = False
        rows = np.flatnonzero(missed).tolist()
        anonymous = render.many_session_fields(
            [""] * len(rows),
            [sessions[i] for i in rows],
            ["web"] * len(rows),
            [addresses[i] for i in rows],
            agents=[agents[i] for i in rows],
            devices=[""] * len(rows),  # bots keep no cookie
        )
        self._misses(scene, draws, times[missed], anonymous)
        for position, hit in zip(hit_at, self.hits, strict=True):
            bot = access.Access(addresses[position], agents[position], None)
            t = int(times[position])
            if hit.number == NO_ENTRY:
                fields = bot.fields(customer_id(hit.customer), sessions[position])
                body = render.login(scene.stamp(t), fields, "password", "success")
                scene.stream.emit(t, body, _HIT_WITHOUT_ENTRY_LABEL)
            else:
                self._enter(scene, t, rng, hit, bot)
        scene.ledger.stuffing_attempts += total
        scene.ledger.stuffing_password_successes += len(self.hits)

    def _misses(
        self,
        scene: Scene,
        draws: np.random.Generator,
        times: npt.NDArray[np.int64],
        anonymous: list[str],
    ) -> None:
        """Failed tries: a customer's username with a wrong password, or an unknown username."""
        count = len(anonymous)
        known = (draws.random(count) < KNOWN_USERNAME_SHARE).tolist()
        customers = draws.integers(0, self.known_customers, count).tolist()
        usernames = draws.integers(0, 10**8, count).tolist()
        fields = [
            f'"customer_id":"{customer_id(customer)}",{bot}' if is_known else bot
            for is_known, customer, bot in zip(known, customers, anonymous, strict=True)
        ]
        extras = [
            "" if is_known else render.login_extra(None, f"u{username:08d}")
            for is_known, username in zip(known, usernames, strict=True)
        ]
        bodies = render.logins(
            scene.stamp.many(times), fields, ["password"] * count, ["failure"] * count, extras
        )
        scene.stream.add(times, bodies, [_MISS_LABEL] * count)

    def _enter(self, scene: Scene, t: int, rng: Random, hit: Hit, bot: access.Access) -> None:
        label = AttackerLabel(
            Campaign.STUFFING, attack_id(Campaign.STUFFING, hit.number), (AttackerFactor.PASSWORD,)
        )
        hijack = Hijack(scene, label, Goal.LOGIN, victim=hit.customer, attack=hit.attack, rng=rng)
        hijack.connect(bot)
        hijack.login(t, "password")
        if rng.random() < 0.5:
            hijack.action(t + rng.randint(2, 20), "logout")
