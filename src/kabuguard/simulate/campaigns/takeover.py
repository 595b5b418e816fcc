"""Account takeovers by attacker model, real-time phishing relays, dormant e-mail rewrites.

Takeover (naive, VPN, targeted) and relay: log in, liquidate the holdings at market, buy a
thin stock (the live pump's, if any) with everything at a high limit. The attacker holds the
password (stolen lists, infostealers); victims are password-only customers, since a second
factor stops an attacker who cannot relay it. Relay: the victim, lured by the phishing mail,
also logs in on the real site; seconds later the phishing proxy logs in with the relayed
password and one-time code from cloud hosting, forwarding the victim's user agent.
Dormant e-mail: log in to a long-unused account and change its e-mail so alerts and
resets go to the attacker; nothing is traded.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from kabuguard.labels import AttackerFactor, Campaign
from kabuguard.simulate.behaviour import FACTOR_TEXT
from kabuguard.simulate.campaigns import access, targets
from kabuguard.simulate.campaigns.hijack import Goal, Hijack
from kabuguard.simulate.campaigns.scene import Scene, seeded
from kabuguard.simulate.labels import AttackerLabel
from kabuguard.simulate.market import DayPrices
from kabuguard.simulate.population import LoginFactor
from kabuguard.simulate.render import contact_tail

LOGOUT_SHARE = 0.5
PHONE_CHANGE_SHARE = 0.4  # dormant rewrites that also take the phone number
_MAIL_DOMAINS = ("gmail.com", "outlook.jp", "proton.me", "yahoo.co.jp", "icloud.com")


def attack_id(campaign: Campaign, number: int) -> str:
    return f"{campaign.value}-{number:05d}"


@dataclass(frozen=True, slots=True)
class Takeover:
    start: int
    campaign: Campaign
    number: int  # within the campaign
    attack: int  # across the run: keys its ids
    victim: int

    def run(self, scene: Scene, prices: DayPrices) -> None:
        rng = seeded(self.campaign, self.number, self.attack)
        relayed = self.campaign is Campaign.RELAY
        has = (
            (AttackerFactor.PASSWORD, AttackerFactor.OTP_RELAY)
            if relayed
            else (AttackerFactor.PASSWORD,)
        )
        label = AttackerLabel(self.campaign, attack_id(self.campaign, self.number), has)
        hijack = Hijack(scene, label, Goal.HARM, victim=self.victim, attack=self.attack, rng=rng)
        t = self._log_in(scene, hijack, rng)
        t = hijack.sell_holdings(t + rng.randint(20, 90), prices)
        t += rng.randint(10, 60)
        t = hijack.buy_all(
            t, targets.pick(scene, prices, t, rng), at_least_a_lot=not hijack.reached
        )
        if rng.random() < LOGOUT_SHARE:
            hijack.action(t, "logout")

    def _log_in(self, scene: Scene, hijack: Hijack, rng: Random) -> int:
        victim, population = self.victim, scene.population
        phone = bool(population.mobile_first[victim])
        agent = scene.customers.agent(victim, phone=phone)
        t = self.start
        if self.campaign is Campaign.ATO_NAIVE:
            hijack.connect(access.naive(rng, self.attack))
        elif self.campaign is Campaign.ATO_VPN:
            hijack.connect(access.over_vpn(rng, self.attack))
        elif self.campaign is Campaign.PUMP:
            hijack.connect(access.pump_crew(rng, self.attack))
        elif self.campaign is Campaign.ATO_TARGETED:
            desktop = scene.customers.agent(victim, phone=False)
            home = int(population.home_network[victim])
            hijack.connect(access.targeted(rng, self.attack, home, desktop))
        else:  # relay
            scene.customers.own_login(victim, t, self.attack, phone=phone)
            hijack.connect(access.relay(rng, self.attack, agent))
            t += rng.randint(2, 8)
        factor = LoginFactor(int(population.factor[victim]))
        if factor is LoginFactor.NONE:
            hijack.login(t, "password")
            return t
        hijack.login(t, "password", complete=False)
        t += rng.randint(15, 40)  # the victim types the code into the phishing page
        hijack.login(t, "second_factor", FACTOR_TEXT[factor])
        return t


@dataclass(frozen=True, slots=True)
class DormantRewrite:
    start: int
    number: int
    attack: int
    victim: int

    def run(self, scene: Scene, prices: DayPrices) -> None:
        rng = seeded("dormant", self.number, self.attack)
        label = AttackerLabel(
            Campaign.DORMANT_EMAIL,
            attack_id(Campaign.DORMANT_EMAIL, self.number),
            (AttackerFactor.PASSWORD,),
        )
        hijack = Hijack(scene, label, Goal.CONTACT, victim=self.victim, attack=self.attack, rng=rng)
        over_vpn = rng.random() < 0.6
        hijack.connect((access.over_vpn if over_vpn else access.naive)(rng, self.attack))
        t = self.start
        hijack.login(t, "password")
        t += rng.randint(20, 120)
        mailbox = f"{rng.getrandbits(40):010x}@{rng.choice(_MAIL_DOMAINS)}"
        hijack.action(t, "contact_change", contact_tail("email", mailbox), Goal.CONTACT)
        if rng.random() < PHONE_CHANGE_SHARE:
            t += rng.randint(10, 60)
            hijack.action(t, "contact_change", contact_tail("phone"))
        if rng.random() < LOGOUT_SHARE:
            hijack.action(t + rng.randint(5, 30), "logout")
