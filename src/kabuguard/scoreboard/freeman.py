"""The Freeman et al. (NDSS 2016) login-risk model, exactly as domain.md §4.1 states it.

    risk = Π_k p_global(x^k) / p_u(x^k) · (1/|U|) / (n_u/N)

Each feature x^k is a hierarchy of values (IP → ASN → country; UA → browser → OS → device
type) whose likelihood is the weighted sum of its levels' smoothed likelihoods
p̂(v) = c/(N+U) when c > 0, else 1/(N+U), where N is the number of remembered logins and U the
number of distinct values at that level. A user who never had a value gets global/4 for it.
|U| is the number of users with a remembered login, n_u this user's, N everybody's.

Pure: no I/O, no clock. The caller scores a login before it learns it (no look-ahead) and
learns successful logins only; history older than the memory (six months) is forgotten.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """One feature: its levels from the finest to the coarsest and their weights."""

    levels: tuple[str, ...]
    weights: tuple[float, ...]


IP = Hierarchy(("ip", "asn", "country"), (0.6, 0.3, 0.1))
USER_AGENT = Hierarchy(("user_agent", "browser", "os", "device_type"), (0.54, 0.27, 0.19, 0.005))
SIX_MONTHS = timedelta(days=183)
UNSEEN_BY_USER_DIVISOR = 4


@dataclass(frozen=True, slots=True)
class Login:
    """A login as the model sees it: per feature, one value per level of its hierarchy."""

    user: str
    at: datetime
    values: tuple[tuple[str, ...], ...]


class _Level:
    """Value counts at one level of one feature, for everybody or for one user."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.total = 0

    def add(self, value: str, delta: int) -> None:
        self.counts[value] += delta
        self.total += delta
        if not self.counts[value]:
            del self.counts[value]  # U counts distinct values still remembered

    def has(self, value: str) -> bool:
        return value in self.counts

    def likelihood(self, value: str) -> float:
        return (self.counts[value] or 1) / (self.total + len(self.counts))


class _History:
    """The remembered logins of one population (everybody, or one user), level by level."""

    __slots__ = ("levels", "logins")

    def __init__(self, hierarchies: tuple[Hierarchy, ...]) -> None:
        self.logins = 0
        self.levels = tuple(tuple(_Level() for _ in h.levels) for h in hierarchies)

    def add(self, login: Login, delta: int) -> None:
        self.logins += delta
        for levels, values in zip(self.levels, login.values, strict=True):
            for level, value in zip(levels, values, strict=True):
                level.add(value, delta)


class FreemanModel:
    """Scores a login against its user's remembered history; higher is riskier."""

    def __init__(
        self,
        hierarchies: tuple[Hierarchy, ...] = (IP, USER_AGENT),
        memory: timedelta = SIX_MONTHS,
    ) -> None:
        self.hierarchies = hierarchies
        self.memory = memory
        self._everybody = _History(hierarchies)
        self._users: dict[str, _History] = {}
        self._remembered: deque[Login] = deque()

    def score(self, login: Login) -> float | None:
        """The risk of `login`, or None when its user has no remembered login to compare with."""
        self._forget_before(login.at - self.memory)
        user = self._users.get(login.user)
        if user is None:
            return None
        risk = (1 / len(self._users)) / (user.logins / self._everybody.logins)
        for hierarchy, values, everybody, own in zip(
            self.hierarchies, login.values, self._everybody.levels, user.levels, strict=True
        ):
            p_global = p_user = 0.0
            for weight, value, level, user_level in zip(
                hierarchy.weights, values, everybody, own, strict=True
            ):
                global_likelihood = level.likelihood(value)
                p_global += weight * global_likelihood
                p_user += weight * (
                    user_level.likelihood(value)
                    if user_level.has(value)
                    else global_likelihood / UNSEEN_BY_USER_DIVISOR
                )
            risk *= p_global / p_user
        return risk

    def learn(self, login: Login) -> None:
        """Remember a successful login. Logins must come in time order."""
        self._forget_before(login.at - self.memory)
        self._remembered.append(login)
        self._everybody.add(login, 1)
        user = self._users.get(login.user)
        if user is None:
            user = self._users[login.user] = _History(self.hierarchies)
        user.add(login, 1)

    @property
    def users(self) -> int:
        return len(self._users)

    def _forget_before(self, cutoff: datetime) -> None:
        while self._remembered and self._remembered[0].at < cutoff:
            old = self._remembered.popleft()
            self._everybody.add(old, -1)
            user = self._users[old.user]
            user.add(old, -1)
            if not user.logins:
                del self._users[old.user]
