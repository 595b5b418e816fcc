"""Where attackers connect from and what they present: Wiefling et al.'s attacker models.

- naive: the attacker's own home connection (mostly abroad) and own browser;
- VPN: an exit in the victim's country, own browser;
- targeted: the victim's own ISP (a fresh address in its real prefixes) and the victim's exact
  user agent, mimicked; only the device id (a cookie the attacker lacks) differs;
- pump crews: any of the above but targeted, across the hijacked accounts of one wave;
- relay: a phishing proxy on cloud hosting; the proxy forwards the victim's user agent;
- stuffing: residential proxies (addresses in real home and mobile networks) or data centres,
  with automation clients or rotated common browser strings, no device id.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

import numpy as np

from kabuguard.simulate import networks, render
from kabuguard.simulate.devices import user_agents
from kabuguard.simulate.ids import Space, mix, text
from kabuguard.simulate.ippools import dotted_many, pools

RESIDENTIAL_PROXY_ABROAD = 0.3
_PROXY_HOMES = networks.keys(*(n.key for n in (*networks.JP_FIXED, *networks.JP_MOBILE)))
_FOREIGN_HOMES = networks.keys(*(n.key for n in networks.FOREIGN_RESIDENTIAL))


@dataclass(frozen=True, slots=True)
class Access:
    address: str
    agent: str
    device: str | None  # bots keep no cookie

    def fields(self, customer: str | None, session: str) -> str:
        """The session fields of an attacker's events (always the web site)."""
        return render.session_fields(
            customer, session, address=self.address, agent=self.agent, device=self.device
        )


def attacker_device(attack: int) -> str:
    """The cookie the broker sets on the attacker's browser: new to every victim."""
    return text("d", mix(Space.ATTACK_DEVICE, attack))


def _browser(rng: Random) -> str:
    agents = user_agents()
    return rng.choice(agents.desktop if rng.random() < 0.7 else agents.mobile)


def naive(rng: Random, attack: int) -> Access:
    home = rng.choice(networks.ATTACKER_HOME)
    return Access(pools().one(home, rng), _browser(rng), attacker_device(attack))


def over_vpn(rng: Random, attack: int) -> Access:
    exit_node = rng.choice(networks.JP_VPN_EXITS)
    return Access(pools().one(exit_node, rng), _browser(rng), attacker_device(attack))


def targeted(rng: Random, attack: int, victim_network: int, victim_agent: str) -> Access:
    return Access(pools().one(victim_network, rng), victim_agent, attacker_device(attack))


def relay(rng: Random, attack: int, victim_agent: str) -> Access:
    server = rng.choice(networks.RELAY_INFRA)
    return Access(pools().one(server, rng), victim_agent, attacker_device(attack))


def pump_crew(rng: Random, attack: int) -> Access:
    """Pump crews mix residential proxies, VPN exits and their own lines abroad."""
    roll = rng.random()
    if roll < 0.5:
        return Access(residential_proxy(rng), _browser(rng), attacker_device(attack))
    return over_vpn(rng, attack) if roll < 0.8 else naive(rng, attack)


def residential_proxy(rng: Random) -> str:
    homes = _FOREIGN_HOMES if rng.random() < RESIDENTIAL_PROXY_ABROAD else _PROXY_HOMES
    return pools().one(rng.choice(homes), rng)


def residential_proxies(draws: np.random.Generator, count: int) -> list[str]:
    """Addresses of home and mobile connections rented out as proxies, one per try."""
    abroad = draws.random(count) < RESIDENTIAL_PROXY_ABROAD
    homes = np.where(abroad, draws.choice(_FOREIGN_HOMES, count), draws.choice(_PROXY_HOMES, count))
    return dotted_many(pools().sample(homes, draws.random(count)))


def datacentre(rng: Random) -> str:
    return pools().one(rng.choice(networks.DATACENTRE), rng)


def bot_agent(rng: Random, rotating: bool) -> str:
    """Tools either send their own client string or rotate common browser strings."""
    agents = user_agents()
    return rng.choice(agents.desktop) if rotating else rng.choice(agents.automation)
