"""The customers: fixed traits in numpy arrays, one element per customer (no object each).

Calibration (docs/simulation.md, "Population"): login frequency is heavy-tailed as in
Wiefling et al. — long-term holders log in a median of 2 times a year, seniors twice a year,
swing traders about weekly, day traders every trading day; with the style shares below about
48 % of customers log in less than monthly. Everything else (ISP shares, device mix, factor
mix from the preset) is a stated assumption.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from kabuguard.simulate import networks
from kabuguard.simulate.devices import user_agents
from kabuguard.simulate.ippools import pools
from kabuguard.simulate.names import BANK_WEIGHTS, BANKS, FAMILY, GIVEN

MAX_CUSTOMERS = 1_000_000


class Style(IntEnum):
    LONG_TERM = 0
    SWING = 1
    DAY_TRADER = 2


class LoginFactor(IntEnum):
    """What a customer presents after (or instead of) the password."""

    NONE = 0
    SMS_OTP = 1
    EMAIL_OTP = 2
    TOTP = 3
    PASSKEY = 4


STYLE_SHARES = (0.46, 0.44, 0.10)
SENIOR_SHARE_OF_LONG_TERM = 0.25
SENIOR_LOGINS_PER_YEAR = 2.0
LONG_TERM_MEDIAN, LONG_TERM_SIGMA = 2.0, 1.2  # logins a year, lognormal
SWING_MEDIAN, SWING_SIGMA = 40.0, 1.0
MOBILE_FIRST_SHARE = 0.55
APP_SHARE_OF_PHONE_USERS = 0.8
CORPORATE_SHARE = 0.08  # trade from the office, behind the employer's proxy
CUSTOMERS_PER_PROXY = 40  # of this broker, behind one corporate address
VPN_SHARE = 0.03


@dataclass(frozen=True, slots=True)
class Population:
    """Traits that do not change during a run."""

    size: int
    style: npt.NDArray[np.uint8]
    senior: npt.NDArray[np.bool_]
    logins_per_year: npt.NDArray[np.float32]
    region: npt.NDArray[np.uint8]
    home_network: npt.NDArray[np.uint8]  # catalogue positions
    mobile_network: npt.NDArray[np.uint8]
    mobile_first: npt.NDArray[np.bool_]
    app_user: npt.NDArray[np.bool_]
    desktop_agent: npt.NDArray[np.uint16]
    factor: npt.NDArray[np.uint8]
    proxy: npt.NDArray[np.int32]  # -1: none; else index into proxy_addresses
    proxy_addresses: npt.NDArray[np.uint32]
    vpn_network: npt.NDArray[np.int16]  # -1: no VPN
    family_name: npt.NDArray[np.uint8]
    given_name: npt.NDArray[np.uint8]


def build_population(size: int, factor_mix: tuple[float, ...], seed: int) -> Population:
    rng = np.random.default_rng([seed, 1])
    style = rng.choice(3, size, p=STYLE_SHARES).astype(np.uint8)
    long_term = style == Style.LONG_TERM
    senior = long_term & (rng.random(size) < SENIOR_SHARE_OF_LONG_TERM)
    region = rng.choice(len(networks.REGION_WEIGHTS), size, p=networks.REGION_WEIGHTS)
    proxies = max(1, round(size * CORPORATE_SHARE / CUSTOMERS_PER_PROXY))
    corporate = rng.random(size) < CORPORATE_SHARE
    return Population(
        size=size,
        style=style,
        senior=senior,
        logins_per_year=_logins_per_year(rng, style, senior),
        region=region.astype(np.uint8),
        home_network=_home_networks(rng, region),
        mobile_network=_pick(rng, networks.JP_MOBILE, size),
        mobile_first=rng.random(size) < MOBILE_FIRST_SHARE,
        app_user=rng.random(size) < APP_SHARE_OF_PHONE_USERS,
        desktop_agent=rng.integers(0, len(user_agents().desktop), size).astype(np.uint16),
        factor=rng.choice(len(LoginFactor), size, p=factor_mix).astype(np.uint8),
        proxy=np.where(corporate, rng.integers(0, proxies, size), -1).astype(np.int32),
        proxy_addresses=_proxy_addresses(rng, proxies),
        vpn_network=np.where(
            rng.random(size) < VPN_SHARE, rng.choice(networks.CONSUMER_VPN, size), -1
        ).astype(np.int16),
        family_name=rng.integers(0, len(FAMILY), size).astype(np.uint8),
        given_name=rng.integers(0, len(GIVEN), size).astype(np.uint8),
    )


def _logins_per_year(
    rng: np.random.Generator, style: npt.NDArray[np.uint8], senior: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float32]:
    size = len(style)
    rate = np.where(
        style == Style.LONG_TERM,
        rng.lognormal(np.log(LONG_TERM_MEDIAN), LONG_TERM_SIGMA, size),
        rng.lognormal(np.log(SWING_MEDIAN), SWING_SIGMA, size),
    )
    rate = np.where(senior, SENIOR_LOGINS_PER_YEAR, np.minimum(rate, 250.0))
    return np.where(style == Style.DAY_TRADER, 250.0, rate).astype(np.float32)


def _pick(
    rng: np.random.Generator, choices: tuple[networks.Network, ...], size: int
) -> npt.NDArray[np.uint8]:
    weights = np.array([network.share for network in choices])
    positions = rng.choice(len(choices), size, p=weights / weights.sum())
    catalogue = np.array(networks.keys(*(network.key for network in choices)))
    return catalogue[positions].astype(np.uint8)


def _home_networks(
    rng: np.random.Generator, region: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint8]:
    """Nationwide ISPs everywhere; a regional ISP only in its own region."""
    home = np.empty(len(region), dtype=np.uint8)
    for area in networks.Region:
        serving = tuple(n for n in networks.JP_FIXED if n.region in (None, area))
        members = region == area
        home[members] = _pick(rng, serving, int(members.sum()))
    return home


def _proxy_addresses(rng: np.random.Generator, count: int) -> npt.NDArray[np.uint32]:
    lines = np.array(networks.keys(*(n.key for n in networks.JP_BUSINESS)))
    return pools().sample(rng.choice(lines, count), rng.random(count))


def bank_accounts(
    rng: np.random.Generator, size: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint16], npt.NDArray[np.uint32]]:
    """Random (bank, branch, account number) triples for registered payout accounts."""
    bank = rng.choice(len(BANKS), size, p=BANK_WEIGHTS).astype(np.uint8)
    branch = rng.integers(1, 1000, size).astype(np.uint16)
    number = rng.integers(0, 10_000_000, size).astype(np.uint32)
    return bank, branch, number
