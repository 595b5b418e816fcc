"""The 2020 payout fraud: switch the withdrawal account to a same-name mule, then cash out.

As at SBI Securities in 2020 (domain brief §1.2): the attacker holds the password, opens a
bank account in the victim's name with forged ID (so the holder name matches), changes the
payout destination on the web, sells the holdings and withdraws everything in one to four
transfers. Sometimes a mule account is reused for a later victim: its holder name is then the
first victim's. Half the attackers withdraw at once (as in 2020); the other half wait out a
cooling-off period (73-96 h) first, logging in again for each transfer. The goal is the first
withdrawal to the mule; each withdrawal's loss is its amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from random import Random

from kabuguard.labels import AttackerFactor, Campaign
from kabuguard.simulate import render
from kabuguard.simulate.campaigns import access
from kabuguard.simulate.campaigns.hijack import Goal, Hijack
from kabuguard.simulate.campaigns.scene import Scene, seeded
from kabuguard.simulate.campaigns.takeover import attack_id
from kabuguard.simulate.clock import HOUR, MINUTE
from kabuguard.simulate.ids import Space, mix, text
from kabuguard.simulate.labels import AttackerLabel
from kabuguard.simulate.market import DayPrices
from kabuguard.simulate.names import NET_BANKS, holder_name

PATIENT_SHARE = 0.5
MAX_TRANSFERS = 4


@dataclass(frozen=True, slots=True)
class Mule:
    """A bank account in a victim's name, opened with forged ID (net banks are favourites)."""

    bank: str
    branch: int
    number: int
    holder_family: int
    holder_given: int

    @classmethod
    def opened(cls, rng: Random, family: int, given: int) -> Mule:
        return cls(rng.choice(NET_BANKS), rng.randint(1, 999), rng.randrange(10**7), family, given)


@dataclass(frozen=True, slots=True)
class PayoutFraud:
    start: int
    number: int
    attack: int
    victim: int
    mule: Mule
    run_end: int  # a patient attacker still withdraws before the simulation ends

    def run(self, scene: Scene, prices: DayPrices) -> None:
        rng = seeded("payout", self.number, self.attack)
        label = AttackerLabel(
            Campaign.PAYOUT, attack_id(Campaign.PAYOUT, self.number), (AttackerFactor.PASSWORD,)
        )
        hijack = Hijack(
            scene, label, Goal.WITHDRAWAL, victim=self.victim, attack=self.attack, rng=rng
        )
        way_in = (
            access.over_vpn(rng, self.attack)
            if rng.random() < 0.7
            else access.naive(rng, self.attack)
        )
        hijack.connect(way_in)
        t = self.start
        hijack.login(t, "password")
        t += rng.randint(30, 120)
        destination = text("dst", mix(Space.ATTACK_DESTINATION, self.attack))
        mule = self.mule
        tail = render.payout_tail(
            destination,
            mule.bank,
            mule.branch,
            mule.number,
            holder_name(mule.holder_family, mule.holder_given),
        )
        hijack.action(t, "payout_change", tail)
        t = hijack.sell_holdings(t + rng.randint(30, 90), prices)
        patient = rng.random() < PATIENT_SHARE and t + 100 * HOUR < self.run_end
        t += rng.randint(73 * HOUR, 96 * HOUR) if patient else rng.randint(5 * MINUTE, 30 * MINUTE)
        total = int(scene.accounts.cash[self.victim]) // 1000 * 1000
        for index, amount in enumerate(_split(total, rng)):
            if index or patient:
                hijack.connect(way_in)
                hijack.login(t, "password")
                t += rng.randint(20, 90)
            hijack.withdraw(t, amount, destination)
            t += rng.randint(1 * HOUR, 6 * HOUR)


def _split(total: int, rng: Random) -> list[int]:
    """One to four transfers of whole thousands of yen adding up to `total` (at least ¥1,000)."""
    thousands = max(total // 1000, 1)
    cuts = sorted(
        {rng.randrange(1, thousands) for _ in range(rng.randint(1, MAX_TRANSFERS) - 1)}
        if thousands > 1
        else set()
    )
    bounds = [0, *cuts, thousands]
    return [(high - low) * 1000 for low, high in pairwise(bounds)]
