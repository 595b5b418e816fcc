"""The history model: bounded profiles, six-month memory, likelihood ratios that make sense."""

from __future__ import annotations

from kabuguard.risk.history import (
    CAPS,
    EMPTY_LEVELS,
    PENDING_CAP,
    Level,
    PopulationFacts,
    Profile,
    complete,
    defer,
    forget,
    learn,
    log10_risk,
    ripen,
)

DAY = 86_400
MEMORY = 183 * DAY
HOME = ("1.1.1.1", "1.1.1.0/24", "OCN", "JP", "residential", "ua-1", "Chrome 1", "Win 10",
        "desktop", "d-1", "7")  # fmt: skip
ABROAD = ("9.9.9.9", "9.9.9.0/24", "Chinanet", "CN", "residential", "ua-9", "Firefox 9",
          "Linux", "desktop", "d-9", "1")  # fmt: skip


COMMON = {"OCN": 2_000, "JP": 9_500, "residential": 8_000, "Chrome 1": 3_000, "Win 10": 4_000,
          "desktop": 6_000, "7": 1_500, "ua-1": 500, "Chinanet": 3, "CN": 20, "Firefox 9": 200,
          "Linux": 100, "ua-9": 20, "1": 100}  # fmt: skip


def _population(values: tuple[str, ...]) -> PopulationFacts:
    """Everybody's counts of these values among 10,000 logins by 1,000 customers."""
    counts = tuple(COMMON.get(value, 0) for value in values)
    return PopulationFacts(logins=10_000, users=1_000, counts=counts)


def _profile(logins: int, values: tuple[str, ...] = HOME, start: int = 0) -> Profile:
    profile = None
    for n in range(logins):
        profile = learn(profile, values, start + n * DAY, MEMORY)
    assert profile is not None
    return profile


def test_learning_counts_logins_and_remembers_values() -> None:
    profile = _profile(3)
    assert profile.logins == 3
    assert profile.has(Level.DEVICE_ID, "d-1")
    assert (profile.first, profile.last) == (0, 2 * DAY)


def test_values_unseen_for_six_months_are_forgotten_but_the_last_login_is_kept() -> None:
    profile = _profile(2)
    later = forget(profile, 400 * DAY, MEMORY)
    assert later.logins == 0
    assert not later.has(Level.IP, "1.1.1.1")
    assert later.last == profile.last  # dormancy still knows when the customer last came
    again = learn(profile, HOME, 400 * DAY, MEMORY)
    assert (again.logins, again.first) == (1, 400 * DAY)


def test_each_level_keeps_at_most_its_cap_least_recent_first_out() -> None:
    profile = Profile(first=0, last=0, levels=EMPTY_LEVELS)
    for n in range(20):
        values = tuple(f"{value}-{n}" if i == Level.IP else value for i, value in enumerate(HOME))
        profile = learn(profile, values, n, MEMORY)
    assert len(profile.levels[Level.IP]) == CAPS[Level.IP]
    assert profile.has(Level.IP, "1.1.1.1-19")
    assert not profile.has(Level.IP, "1.1.1.1-0")
    assert profile.logins == 20


def test_a_familiar_login_scores_far_below_a_foreign_one() -> None:
    profile = _profile(10)
    familiar = log10_risk(profile, _population(HOME), HOME)
    foreign = log10_risk(profile, _population(ABROAD), ABROAD)
    assert familiar < 0 < foreign
    assert foreign - familiar > 3


def test_rare_customers_score_higher_for_the_same_login() -> None:
    """Freeman's frequency term: the same new value means more for a rare visitor."""
    rare, frequent = _profile(2), _profile(40)
    assert log10_risk(rare, _population(ABROAD), ABROAD) > log10_risk(
        frequent, _population(ABROAD), ABROAD
    )


def test_a_known_device_alone_cannot_cancel_a_foreign_network() -> None:
    """The device ratio is clipped: a copied cookie does not make a foreign login familiar."""
    profile = _profile(10)
    stolen_cookie = tuple(
        HOME[i] if i == Level.DEVICE_ID else value for i, value in enumerate(ABROAD)
    )
    assert log10_risk(profile, _population(ABROAD), stolen_cookie) > 0


def test_a_deferred_login_is_learned_only_once_its_probation_is_over() -> None:
    profile = defer(_profile(5), ABROAD, 10 * DAY)
    assert not profile.has(Level.DEVICE_ID, "d-9")
    assert profile.last == 4 * DAY  # a pending login does not end dormancy
    assert ripen(profile, 10 * DAY + 3599, 3600) == profile
    ripe = ripen(profile, 10 * DAY + 3600, 3600)
    assert ripe.has(Level.DEVICE_ID, "d-9")
    assert (ripe.logins, ripe.last, ripe.pending) == (6, 10 * DAY, ())


def test_a_ripened_login_does_not_make_a_value_look_older() -> None:
    profile = defer(_profile(1), HOME, 2 * DAY)
    profile = learn(profile, HOME, 3 * DAY, MEMORY)
    ripe = ripen(profile, 4 * DAY, 3600)
    assert ripe.levels[Level.IP][0].count == 3
    assert ripe.levels[Level.IP][0].last == 3 * DAY


def test_at_most_a_few_logins_wait_and_the_oldest_is_dropped_unlearned() -> None:
    profile = _profile(1)
    for n in range(PENDING_CAP + 2):
        profile = defer(profile, ABROAD, DAY + n)
    assert [p.at for p in profile.pending] == [DAY + n for n in range(2, PENDING_CAP + 2)]
    assert ripen(profile, 10 * DAY, 3600).logins == 1 + PENDING_CAP


def test_a_login_owing_its_second_step_is_learned_when_completed_and_dropped_if_never() -> None:
    owing = defer(_profile(5), ABROAD, 10 * DAY, sell_only=False, due="s-1")
    assert ripen(owing, 20 * DAY, 3600).logins == 5  # never completed: dropped unlearned
    done = complete(owing, "s-1", second_step=True)
    assert done.second_step
    assert done.pending == ()
    assert done.has(Level.DEVICE_ID, "d-9")
    assert complete(owing, "another-session", second_step=False).pending == owing.pending


def test_a_completed_sell_only_login_still_waits_for_its_session_to_end() -> None:
    owing = defer(_profile(5), ABROAD, 10 * DAY, sell_only=True, due="s-1")
    done = complete(owing, "s-1", second_step=False)
    assert not done.has(Level.DEVICE_ID, "d-9")
    assert ripen(done, 11 * DAY, 3600).has(Level.DEVICE_ID, "d-9")
