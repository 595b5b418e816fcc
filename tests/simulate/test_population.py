"""The population is calibrated as documented and lives in real Japanese networks."""

from __future__ import annotations

import numpy as np
import pytest
from geoip2fast import GeoIP2Fast

from kabuguard.simulate.accounts import open_accounts
from kabuguard.simulate.clock import Calendar
from kabuguard.simulate.episodes import Forced
from kabuguard.simulate.instruments import universe
from kabuguard.simulate.ippools import DATA_FILE, dotted, pools
from kabuguard.simulate.networks import CATALOGUE, JP_FIXED, JP_MOBILE, Network, NetworkKind
from kabuguard.simulate.population import Population, Style, build_population
from kabuguard.simulate.presets import PRESETS
from kabuguard.simulate.sessions import SessionPlanner

MIX = PRESETS["2025-04"].factor_mix


@pytest.fixture(scope="module")
def population() -> Population:
    return build_population(50_000, MIX, seed=3)


@pytest.fixture(scope="module")
def geoip() -> GeoIP2Fast:
    return GeoIP2Fast(geoip2fast_data_file=str(DATA_FILE))


def test_long_term_holders_log_in_a_median_of_twice_a_year(population: Population) -> None:
    long_term = population.logins_per_year[population.style == Style.LONG_TERM]
    assert 1.7 <= float(np.median(long_term)) <= 2.3
    seniors = population.logins_per_year[population.senior]
    assert set(seniors.tolist()) == {2.0}


def test_about_48_percent_log_in_less_than_monthly(population: Population) -> None:
    share = float(np.mean(population.logins_per_year < 12))
    assert 0.45 <= share <= 0.51


def test_styles_follow_the_documented_shares(population: Population) -> None:
    shares = np.bincount(population.style, minlength=3) / population.size
    assert np.allclose(shares, (0.46, 0.44, 0.10), atol=0.01)


def test_simulated_logins_follow_the_rates_and_day_traders_come_every_trading_day() -> None:
    population = build_population(20_000, MIX, seed=5)
    accounts = open_accounts(population, universe(), seed=5)
    calendar = Calendar(PRESETS["2025-04"].start, 28)
    nothing = Forced(
        np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint8), np.empty(0, dtype=np.int64)
    )
    logins = np.zeros(population.size, dtype=np.int64)
    trading_days = 0
    for day in range(calendar.days):
        rng = np.random.default_rng([5, day])
        trading = calendar.is_trading_day(day)
        trading_days += trading
        sessions = SessionPlanner(day, trading, population, accounts, rng).plan(nothing)
        np.add.at(logins, sessions.customer, 1)
    traders = population.style == Style.DAY_TRADER
    assert np.all(logins[traders] >= trading_days)
    others = ~traders
    expected = float(population.logins_per_year[others].sum()) * calendar.days / 365
    assert abs(int(logins[others].sum()) / expected - 1) < 0.05
    long_term = population.style == Style.LONG_TERM
    assert float(np.mean(logins[long_term] == 0)) > 0.7  # most holders never log in in a month


def test_home_addresses_lie_in_the_real_prefixes_of_the_customers_isp(geoip: GeoIP2Fast) -> None:
    population = build_population(400, MIX, seed=11)
    accounts = open_accounts(population, universe(), seed=11)
    for customer in range(population.size):
        network = CATALOGUE[int(population.home_network[customer])]
        assert network.kind is NetworkKind.FIXED
        found = geoip.lookup(dotted(int(accounts.home_address[customer])))
        assert (found.country_code, found.asn_name) == ("JP", network.as_name)


@pytest.mark.parametrize("network", [*JP_FIXED, *JP_MOBILE], ids=lambda n: n.key)
def test_sampled_addresses_belong_to_the_named_network(network: Network, geoip: GeoIP2Fast) -> None:
    position = CATALOGUE.index(network)
    sampled = pools().sample(np.full(50, position), np.random.default_rng(position).random(50))
    for address in sampled.tolist():
        found = geoip.lookup(dotted(address))
        assert (found.country_code, found.asn_name) == (network.country, network.as_name)
        assert address & 0xFF not in (0, 255)


def test_every_catalogued_network_has_addresses() -> None:
    assert np.all(pools().sizes > 0)
    assert len({network.key for network in CATALOGUE}) == len(CATALOGUE)
