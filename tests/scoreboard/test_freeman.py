"""The Freeman model on histories small enough to compute by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kabuguard.scoreboard.freeman import IP, USER_AGENT, FreemanModel, Hierarchy, Login
from tests.factories import BASE_TIME

FLAT = Hierarchy(("ip",), (1.0,))
TWO_LEVELS = Hierarchy(("ip", "asn"), (0.6, 0.4))


def _login(user: str, *values: str, days: float = 0) -> Login:
    return Login(user, BASE_TIME + timedelta(days=days), (values,))


def _model(hierarchy: Hierarchy, *logins: Login) -> FreemanModel:
    model = FreemanModel(hierarchies=(hierarchy,))
    for login in logins:
        model.learn(login)
    return model


def test_the_paper_weights_are_the_defaults() -> None:
    assert (IP.levels, IP.weights) == (("ip", "asn", "country"), (0.6, 0.3, 0.1))
    assert USER_AGENT.levels == ("user_agent", "browser", "os", "device_type")
    assert USER_AGENT.weights == (0.54, 0.27, 0.19, 0.005)


def test_a_users_first_login_is_not_scored() -> None:
    model = _model(FLAT, _login("u2", "b"))
    assert model.score(_login("u1", "a")) is None


def test_a_familiar_value_is_scored_with_smoothed_likelihoods() -> None:
    # N = 3 logins, U = 2 distinct IPs, |U| = 2 users, n_u1 = 2.
    model = _model(FLAT, _login("u1", "a"), _login("u1", "a"), _login("u2", "b"))
    # p_global(a) = 2/(3+2) = 0.4; p_u1(a) = 2/(2+1) = 2/3; (1/|U|)/(n_u/N) = 0.5/(2/3) = 0.75.
    assert model.score(_login("u1", "a")) == pytest.approx(0.4 / (2 / 3) * 0.75)


def test_an_unseen_value_gets_one_over_n_plus_u_and_the_user_a_quarter_of_that() -> None:
    model = _model(FLAT, _login("u1", "a"), _login("u1", "a"), _login("u2", "b"))
    # Never seen anywhere: p_global = 1/(3+2) = 0.2, p_u1 = 0.2/4: the ratio is 4.
    assert model.score(_login("u1", "zzz")) == pytest.approx(4 * 0.75)
    # Seen by someone else only: p_global(b) = 1/5, and again local = global/4.
    assert model.score(_login("u1", "b")) == pytest.approx(4 * 0.75)


def test_levels_are_weighted_so_a_known_network_softens_a_new_address() -> None:
    model = _model(
        TWO_LEVELS, _login("u1", "a", "X"), _login("u1", "a", "X"), _login("u2", "b", "X")
    )
    p_global = 0.6 * (1 / (3 + 2)) + 0.4 * (3 / (3 + 1))
    p_user = 0.6 * (1 / (3 + 2)) / 4 + 0.4 * (2 / (2 + 1))
    assert model.score(_login("u1", "c", "X")) == pytest.approx(p_global / p_user * 0.75)


def test_scoring_does_not_learn() -> None:
    model = _model(FLAT, _login("u1", "a"), _login("u2", "b"))
    first = model.score(_login("u1", "c"))
    assert model.score(_login("u1", "c")) == first


def test_history_older_than_six_months_is_forgotten() -> None:
    model = _model(FLAT, _login("u1", "a", days=0), _login("u2", "b", days=1))
    assert model.users == 2
    # 184 days on, u1's only login is more than 183 days old: u1 is a stranger again.
    assert model.score(_login("u1", "a", days=184)) is None
    assert model.users == 1
    # u2's login (day 1) is exactly 183 days old: still remembered. N = 1, U = 1, |U| = 1.
    assert model.score(_login("u2", "b", days=184)) == pytest.approx((1 / 2) / (1 / 2) * 1.0)
