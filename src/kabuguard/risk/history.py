"""The customer-history model: Freeman et al. (NDSS 2016) likelihood ratios, compact and improved.

    risk = (mean logins per user / this user's logins) · Π_k p_pop(x^k) / p_user(x^k)

Each feature x^k is a hierarchy of levels whose likelihood is the weighted sum of the levels'
smoothed likelihoods: c/(n+U) for a value the customer had c > 0 times (n their remembered
logins at that level, U the distinct values), and p_pop/4 for a value they never had (domain
§4.1). Beyond Freeman's two hierarchies (IP → /24 → ASN → country, user agent → browser → OS →
device type) the model adds the ASN class, the time of day and the device id, each a
one-level feature whose ratio is clipped so that no single familiar value (a cookie an
infostealer can copy) cancels everything else.

A `Profile` is compact and bounded: per level at most a few values, each with a count and the
time it was last seen. A value last seen more than the memory (six months) ago is forgotten;
past the cap the least recently seen value goes. Only successful logins are learned (the state
layer decides which). A sell-only login waits in `pending` until its session is over
(`ripen`): the same stranger logging in again minutes later must not look familiar. For a
customer who completes logins with a second step, a password step waits until that step
succeeds (`complete`): an abandoned or failed one is never learned. Times are
epoch seconds: profiles are stored and cached as numbers.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import IntEnum


class Level(IntEnum):
    IP = 0
    PREFIX = 1
    ASN = 2
    COUNTRY = 3
    ASN_CLASS = 4
    USER_AGENT = 5
    BROWSER = 6
    OS = 7
    DEVICE_TYPE = 8
    DEVICE_ID = 9
    HOUR = 10  # three-hour bin of the Japan-time hour, "0".."7"


# How many values a profile keeps per level: enough for home, office, phone and a VPN.
CAPS = (6, 6, 6, 4, 5, 4, 4, 4, 5, 6, 8)
# The class level holds at most five values, so its counts are never evicted: their sum is
# the number of remembered logins.
LOGINS_LEVEL = Level.ASN_CLASS
UNSEEN_BY_USER_DIVISOR = 4
RATIO_CLIP = 8.0  # bound on each added one-level feature's ratio (and its inverse)
MEMORY_SECONDS = 183 * 86_400  # history older than six months is forgotten (domain §4.1)
PENDING_CAP = 4  # sell-only logins waiting at once; past it the oldest is dropped, not learned


@dataclass(frozen=True, slots=True)
class Hierarchy:
    levels: tuple[Level, ...]
    weights: tuple[float, ...]
    clipped: bool = False


NETWORK = Hierarchy((Level.IP, Level.PREFIX, Level.ASN, Level.COUNTRY), (0.5, 0.15, 0.25, 0.1))
SOFTWARE = Hierarchy(
    (Level.USER_AGENT, Level.BROWSER, Level.OS, Level.DEVICE_TYPE), (0.54, 0.27, 0.19, 0.005)
)
HIERARCHIES = (
    NETWORK,
    SOFTWARE,
    Hierarchy((Level.ASN_CLASS,), (1.0,), clipped=True),
    Hierarchy((Level.DEVICE_ID,), (1.0,), clipped=True),
    Hierarchy((Level.HOUR,), (1.0,), clipped=True),
)


@dataclass(frozen=True, slots=True)
class Seen:
    value: str
    count: int
    last: int


@dataclass(frozen=True, slots=True)
class Pending:
    """A login's values not learned yet: a sell-only login's until its session is over, and a
    login still owing its second step until that step succeeds (`complete`)."""

    values: tuple[str, ...]
    at: int
    sell_only: bool = True
    due: str | None = None  # the session whose second step this login still owes


@dataclass(frozen=True, slots=True)
class Profile:
    """One customer's remembered successful logins, level by level."""

    first: int  # the first remembered login
    last: int  # the last successful login; kept when its values are forgotten (dormancy)
    levels: tuple[tuple[Seen, ...], ...]
    passkey: bool = False  # has signed in with, or enrolled, a passkey
    second_step: bool = False  # has completed a login with a second step
    pending: tuple[Pending, ...] = ()  # sell-only logins not learned yet, oldest first
    learned: bool = True  # False until a login is learned (the profile held only the rest)

    @property
    def logins(self) -> int:
        return sum(seen.count for seen in self.levels[LOGINS_LEVEL])

    def has(self, level: Level, value: str) -> bool:
        return any(seen.value == value for seen in self.levels[level])

    def values(self, level: Level) -> frozenset[str]:
        return frozenset(seen.value for seen in self.levels[level])

    @property
    def latest_at(self) -> int:
        """When the customer last logged in, a waiting login included: where they were last is
        where travel and relays are measured from, though only `last` ends dormancy."""
        return max([self.last, *(waiting.at for waiting in self.pending)])

    def latest(self, level: Level) -> str | None:
        """The value at `level` of the login at `latest_at`, if still remembered."""
        waiting = max(self.pending, key=lambda p: p.at, default=None)
        if waiting is not None and waiting.at >= self.last:
            return waiting.values[level]
        found = [seen.value for seen in self.levels[level] if seen.last == self.last]
        return found[0] if found else None


EMPTY_LEVELS: tuple[tuple[Seen, ...], ...] = tuple(() for _ in Level)


@dataclass(frozen=True, slots=True)
class PopulationFacts:
    """Everybody's remembered logins, as far as this login's values are concerned."""

    logins: int  # N
    users: int  # |U|
    counts: tuple[int, ...]  # per Level, how many logins had this login's value (0: untracked)


def forget(profile: Profile, at: int, memory_seconds: int) -> Profile:
    """The profile without values last seen before the memory."""
    cutoff = at - memory_seconds
    if all(seen.last >= cutoff for level in profile.levels for seen in level):
        return profile
    levels = tuple(tuple(s for s in level if s.last >= cutoff) for level in profile.levels)
    return replace(profile, levels=levels)


def learn(
    profile: Profile | None, values: tuple[str, ...], at: int, memory_seconds: int
) -> Profile:
    """The profile after one more successful login with `values` (one per Level) at `at`."""
    if profile is None:
        profile = Profile(first=at, last=at, levels=EMPTY_LEVELS)
    kept = forget(profile, at, memory_seconds)
    levels = tuple(
        _add(level, value, at, cap)
        for level, value, cap in zip(kept.levels, values, CAPS, strict=True)
    )
    first = profile.first if kept.logins else at  # a dormant return starts a new history
    return replace(kept, first=first, last=max(profile.last, at), levels=levels, learned=True)


def defer(
    profile: Profile | None,
    values: tuple[str, ...],
    at: int,
    *,
    sell_only: bool = True,
    due: str | None = None,
) -> Profile:
    """The profile with a login waiting to be learned. Until then the login leaves no trace:
    not its values, nor the time of the last login (a dormant account stays so)."""
    if profile is None:
        profile = Profile(first=at, last=at, levels=EMPTY_LEVELS, learned=False)
    # Past the cap the oldest is dropped unlearned: a login less familiar, never more.
    waiting = (*profile.pending, Pending(values, at, sell_only, due))[-PENDING_CAP:]
    return replace(profile, pending=waiting)


def complete(profile: Profile, session: str, *, second_step: bool) -> Profile:
    """The profile once `session`'s login is known to have completed (its second step
    succeeded, or the session acted): the login is learned now, or, if its session is
    sell-only, once that is over."""
    if second_step and not profile.second_step:
        profile = replace(profile, second_step=True)
    done = [p for p in profile.pending if p.due == session]
    for login in done:
        waiting = tuple(p for p in profile.pending if p is not login)
        if login.sell_only:
            waiting = (*waiting, replace(login, due=None))
            profile = replace(profile, pending=tuple(sorted(waiting, key=lambda p: p.at)))
        else:
            profile = replace(profile, pending=waiting)
            profile = learn(profile, login.values, login.at, MEMORY_SECONDS)
    return profile


def ripen(profile: Profile, at: int, probation_seconds: int) -> Profile:
    """The profile with the pending logins older than `probation_seconds` learned, but for
    those never completed: a password alone is what a phisher has."""
    ripe = [p for p in profile.pending if p.at + probation_seconds <= at]
    if not ripe:
        return profile
    waiting = tuple(p for p in profile.pending if p not in ripe)
    for login in ripe:
        if login.due is None:
            profile = learn(profile, login.values, login.at, MEMORY_SECONDS)
    return replace(profile, pending=waiting)


def _add(level: tuple[Seen, ...], value: str, at: int, cap: int) -> tuple[Seen, ...]:
    others: list[Seen] = []
    found = None
    for seen in level:  # one pass: this runs for every level of every learned login
        if seen.value != value:
            others.append(seen)
        elif found is None:
            found = seen
    if len(others) >= cap:
        others.sort(key=lambda seen: seen.last)
        others = others[len(others) - cap + 1 :]
    if found is None:
        return (*others, Seen(value, 1, at))
    # A ripened login is learned after later ones: it must not make the value look older.
    return (*others, Seen(value, found.count + 1, max(found.last, at)))


def log10_risk(profile: Profile, population: PopulationFacts, values: tuple[str, ...]) -> float:
    """log10 of the risk of a login with `values` for this customer; higher is riskier."""
    logins = max(profile.logins, 1)
    mean = population.logins / population.users if population.users else 1.0
    total = math.log10(max(mean, 1.0) / logins)
    for hierarchy in HIERARCHIES:
        p_pop = p_user = 0.0
        for level, weight in zip(hierarchy.levels, hierarchy.weights, strict=True):
            pop = max(population.counts[level], 1) / (population.logins + 1)
            p_pop += weight * pop
            p_user += weight * _user_likelihood(profile.levels[level], values[level], pop)
        ratio = p_pop / p_user
        if hierarchy.clipped:
            ratio = min(max(ratio, 1 / RATIO_CLIP), RATIO_CLIP)
        total += math.log10(ratio)
    return total


def _user_likelihood(level: tuple[Seen, ...], value: str, pop: float) -> float:
    count = next((seen.count for seen in level if seen.value == value), 0)
    if not count:
        return pop / UNSEEN_BY_USER_DIVISOR
    return count / (sum(seen.count for seen in level) + len(level))
