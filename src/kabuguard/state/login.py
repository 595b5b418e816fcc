"""Login-risk state in memory: profiles, stuffing windows, population counts, sessions, leaks.

`LoginMemory` is what replay uses and the overlay a SQL batch decides against. Everything it
holds is bounded:
- a profile per customer (at most a few values per level, see `risk.history.CAPS`);
- stuffing windows: five-minute buckets per key, dropped after two hours, each remembering at
  most 32 username hashes (enough to tell a list from a typo);
- population counts per history value in 30-day periods, dropped after seven periods;
- session facts, dropped a day after the login.
It also notes what changed (`changes()`), so a store writes back only that.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from kabuguard.enrich.enricher import Enricher, default_enricher
from kabuguard.risk.codes import Outcome, ReasonCode
from kabuguard.risk.decisions import Verdict
from kabuguard.risk.events import (
    AttemptResult,
    CredentialAction,
    CredentialChange,
    CredentialKind,
    Event,
    Factor,
    LoginAttempt,
    LoginStep,
)
from kabuguard.risk.history import (
    EMPTY_LEVELS,
    MEMORY_SECONDS,
    Level,
    PopulationFacts,
    Profile,
    complete,
    defer,
    forget,
    learn,
    ripen,
)
from kabuguard.risk.login import (
    Bucket,
    LoginSignals,
    NetworkFacts,
    SessionFacts,
    SoftwareFacts,
    Window,
    WindowKind,
    history_values,
)
from kabuguard.risk.policy import MAX_SESSION_HOURS, MAX_STUFFING_WINDOW_MINUTES
from kabuguard.risk.rules.session import is_sensitive

BUCKET_SECONDS = 300
WINDOW_SECONDS = MAX_STUFFING_WINDOW_MINUTES * 60
SESSION_SECONDS = MAX_SESSION_HOURS * 3600
PERIOD_SECONDS = 30 * 86_400
PERIODS = 7  # 210 days of population counts cover the 183-day memory
USERNAME_CAP = 32
SWEEP_FLOOR = 4096  # tables are swept for expired entries when they double past this
POP_LOGINS = "pop:logins"
POP_USERS = "pop:users"
# Levels whose values are counted for everybody; addresses and device ids are too many.
POPULATION_LEVELS = (
    Level.ASN,
    Level.COUNTRY,
    Level.ASN_CLASS,
    Level.USER_AGENT,
    Level.BROWSER,
    Level.OS,
    Level.DEVICE_TYPE,
    Level.HOUR,
)


def window_key(kind: WindowKind, value: str) -> str:
    # User agents can be 1 KB: keyed by a digest so that keys stay short in every store.
    if kind is WindowKind.USER_AGENT:
        value = hashlib.sha1(value.encode(), usedforsecurity=False).hexdigest()[:20]
    return f"{kind}:{value}"


# Spelt once: a login reads and writes eight of these keys.
_POPULATION_PREFIX = tuple(f"pop:{level.value}:" for level in Level)


def population_key(level: Level, value: str) -> str:
    return f"{_POPULATION_PREFIX[level]}{value[:200]}"


def session_key(session_id: str) -> str:
    return f"session:{session_id}"


def latest_session_key(customer: str) -> str:
    """The customer's latest login's session facts ("~" is in no event id: no clash)."""
    return f"session:~{customer}"


@dataclass
class Changes:
    """What a batch changed, for a store to write back."""

    profiles: set[str] = field(default_factory=set)
    exposed_cleared: set[str] = field(default_factory=set)
    buckets: set[tuple[str, int]] = field(default_factory=set)
    counts: set[tuple[str, int]] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _Facts:
    """The signals last fetched, kept so that `record` need not enrich the event again, nor
    spell again the keys it reads: a login's windows and population counts, which it writes."""

    event_id: str
    signals: LoginSignals
    window_keys: tuple[str, ...] = ()
    population_keys: tuple[str, ...] = ()  # one per POPULATION_LEVELS


class LoginMemory:
    def __init__(self, enricher: Enricher | None = None) -> None:
        self.enricher = enricher or default_enricher()
        self.profiles: dict[str, Profile] = {}
        self.exposed: dict[str, datetime] = {}
        self.buckets: dict[str, dict[int, Bucket]] = {}
        self.counts: dict[str, dict[int, int]] = {}
        self.sessions: dict[str, SessionFacts] = {}
        self.changes = Changes()
        self._last: _Facts | None = None
        self._sweep_at = SWEEP_FLOOR

    # Signals

    def signals(self, event: Event) -> LoginSignals | None:
        if isinstance(event, LoginAttempt):
            self._last = self._facts(event)
        elif event.customer_id is not None:
            session = self._session(event)
            # Without a live session of this customer's, the customer's latest login stands in:
            # a sell-only login must not be escaped by an event naming no session, an expired
            # one or somebody else's.
            latest = None if session else self._fresh(event, latest_session_key(event.customer_id))
            if session is None and latest is None and event.session_id is None:
                return None
            network = self.enricher.network(event.ip)
            facts = LoginSignals(
                network=network, session=session or latest, session_inferred=latest is not None
            )
            self._last = _Facts(event.event_id, facts)
        else:
            return None
        return self._last.signals

    def _facts(self, event: LoginAttempt) -> _Facts:
        network = self.enricher.network(event.ip)
        software = self.enricher.software(event.user_agent)
        values = history_values(network, software, event.device_id, event.occurred_at)
        customer = event.customer_id
        at = int(event.occurred_at.timestamp())
        profile = self.profiles.get(customer) if customer is not None else None
        windows = _window_values(network, software)
        window_keys = tuple(window_key(kind, value) for kind, value in windows)
        population_keys = tuple(population_key(lv, values[lv]) for lv in POPULATION_LEVELS)
        signals = LoginSignals(
            network=network,
            software=software,
            profile=forget(profile, at, MEMORY_SECONDS) if profile is not None else None,
            population=self._population(population_keys, at),
            values=values,
            windows=tuple(
                self._window(kind, value, key, at)
                for (kind, value), key in zip(windows, window_keys, strict=True)
            ),
            session=self._session(event),
            exposed_since=self.exposed.get(customer) if customer is not None else None,
        )
        return _Facts(event.event_id, signals, window_keys, population_keys)

    def _population(self, keys: tuple[str, ...], at: int) -> PopulationFacts:
        counts = [0] * len(Level)
        for level, key in zip(POPULATION_LEVELS, keys, strict=True):
            counts[level] = self._count(key, at)
        return PopulationFacts(
            logins=self._count(POP_LOGINS, at),
            users=self._count(POP_USERS, at),
            counts=tuple(counts),
        )

    def _count(self, key: str, at: int) -> int:
        periods = self.counts.get(key)
        if not periods:
            return 0
        current = at // PERIOD_SECONDS
        return sum(n for period, n in periods.items() if current - PERIODS < period <= current)

    def _window(self, kind: WindowKind, value: str, key: str, at: int) -> Window:
        found = self.buckets.get(key, {})
        recent = tuple(b for start, b in sorted(found.items()) if start > at - WINDOW_SECONDS)
        return Window(kind, value, recent)

    def _session(self, event: Event) -> SessionFacts | None:
        if event.session_id is None:
            return None
        return self._fresh(event, session_key(event.session_id))

    def _fresh(self, event: Event, key: str) -> SessionFacts | None:
        """The session facts under `key` if they are the event's customer's and younger than
        the longest session: older ones linger in memory until a sweep but leave the database
        at once, and both must decide alike."""
        found = self.sessions.get(key)
        if found is None or found.customer_id != event.customer_id:
            return None
        if (event.occurred_at - found.login_at).total_seconds() > SESSION_SECONDS:
            return None
        return found

    # Recording

    def record(self, event: Event, verdict: Verdict) -> None:
        last = self._last if self._last and self._last.event_id == event.event_id else None
        if isinstance(event, LoginAttempt):
            self._record_login(event, verdict, last or self._facts(event))
        else:
            if isinstance(event, CredentialChange):
                self._record_credential(event, verdict.outcome)
            if verdict.outcome is Outcome.ALLOW:
                self._session_acted(event)
        session = last.signals.session if last is not None else self._session(event)
        inferred = last is not None and last.signals.session_inferred
        # Only an action let through is the session's first: a refused decoy must not use up
        # the check, nor a held sale resubmitted at once pass it. An inferred session is not
        # the event's own: nothing is written under the event's session id.
        allowed = verdict.outcome is Outcome.ALLOW
        if session is not None and not inferred and is_sensitive(event) and allowed:
            self._touch_session(event, session)
        self.sweep(int(event.occurred_at.timestamp()))

    def _record_login(self, event: LoginAttempt, verdict: Verdict, last: _Facts) -> None:
        at = int(event.occurred_at.timestamp())
        facts = last.signals
        if event.step is LoginStep.PASSWORD:
            self._count_attempt(event, last.window_keys, at)
        success = event.result is AttemptResult.SUCCESS and event.customer_id is not None
        if not success or verdict.outcome is Outcome.DENY:
            return
        assert event.customer_id is not None
        if event.step is LoginStep.SECOND_FACTOR:
            if verdict.outcome is Outcome.ALLOW and event.session_id is not None:
                self._complete(event.customer_id, event.session_id, second_step=True)
            if event.factor is Factor.PASSKEY:
                self._enrol_passkey(event.customer_id, at)
            return
        restricted = any(h.code is ReasonCode.SESSION_LOGIN_RISKY for h in verdict.hits)
        if verdict.outcome is Outcome.ALLOW:
            # A sell-only login is learned only once its session is over (`ripen`), so the
            # same stranger logging in again meanwhile is sell-only again, while a customer's
            # new device stops being a stranger after one session. Such a login, and any
            # password step of a customer who completes logins with a second step, waits to
            # be completed (`complete`): a phisher holding only the password must not make
            # their device familiar, nor end a dormancy, by giving up at the code.
            profile = self.profiles.get(event.customer_id)
            second_step = profile is not None and profile.second_step
            owes = event.step is LoginStep.PASSWORD and (restricted or second_step)
            due = event.session_id if owes else None
            self._learn(event.customer_id, last, at, pending=restricted, due=due)
        if event.step is LoginStep.PASSKEY:
            self._enrol_passkey(event.customer_id, at)
        session = SessionFacts(
            event.customer_id, event.occurred_at, facts.network, verdict.risk_score, restricted,
            stepped_up=verdict.stepped_up,
        )  # fmt: skip
        if event.session_id is not None:
            self._save_session(event.session_id, session)
        self._save(latest_session_key(event.customer_id), session)

    def _count_attempt(self, event: LoginAttempt, keys: tuple[str, ...], at: int) -> None:
        start = at - at % BUCKET_SECONDS
        username = event.customer_id or event.attempted_username or ""
        tag = zlib.crc32(username.encode())
        failed = event.result is AttemptResult.FAILURE
        unknown = failed and event.customer_id is None
        for key in keys:
            buckets = self.buckets.setdefault(key, {})
            for old in [s for s in buckets if s <= at - WINDOW_SECONDS]:
                del buckets[old]
            bucket = buckets.get(start, Bucket(start))
            names = bucket.usernames
            if tag not in names and len(names) < USERNAME_CAP:
                names = names | {tag}
            buckets[start] = Bucket(
                start,
                bucket.attempts + 1,
                bucket.failures + failed,
                bucket.unknown_usernames + unknown,
                names,
            )
            self.changes.buckets.add((key, start))

    def _learn(
        self, customer: str, last: _Facts, at: int, *, pending: bool, due: str | None
    ) -> None:
        before = self.profiles.get(customer)
        if before is not None:
            # Past the longest session any policy allows, a pending login is history for all.
            before = ripen(before, at, SESSION_SECONDS)
        # A customer counts once among everybody, whether their first login waits or not.
        fresh = before is None or not (forget(before, at, MEMORY_SECONDS).logins or before.pending)
        values = last.signals.values
        if pending or due is not None:
            self.profiles[customer] = defer(before, values, at, sell_only=pending, due=due)
        else:
            self.profiles[customer] = learn(before, values, at, MEMORY_SECONDS)
        self.changes.profiles.add(customer)
        keys = [POP_LOGINS, *last.population_keys]
        if fresh:
            keys.append(POP_USERS)
        period = at // PERIOD_SECONDS
        for key in keys:
            periods = self.counts.setdefault(key, {})
            for old in [p for p in periods if p <= period - PERIODS]:
                del periods[old]
            periods[period] = periods.get(period, 0) + 1
            self.changes.counts.add((key, period))

    def _session_acted(self, event: Event) -> None:
        """An allowed order, withdrawal, change or logout in a session proves its login was
        completed: brokers accept them only from signed-in sessions."""
        if event.customer_id is not None and event.session_id is not None:
            self._complete(event.customer_id, event.session_id, second_step=False)

    def _complete(self, customer: str, session_id: str, *, second_step: bool) -> None:
        profile = self.profiles.get(customer)
        if profile is None:
            return  # nothing learned or waiting: a second step alone teaches nothing
        completed = complete(profile, session_id, second_step=second_step)
        if completed is not profile:  # `complete` returns the profile itself when unchanged
            self.profiles[customer] = completed
            self.changes.profiles.add(customer)

    def _enrol_passkey(self, customer: str, at: int) -> None:
        profile = self.profiles.get(customer) or Profile(
            first=at, last=at, levels=EMPTY_LEVELS, learned=False
        )
        if not profile.passkey:
            self.profiles[customer] = replace(profile, passkey=True)
            self.changes.profiles.add(customer)

    def _record_credential(self, event: CredentialChange, outcome: Outcome) -> None:
        # Only an allowed change is known to have happened: a passkey a risky session asked
        # for must not soften later rules, nor a reset still owing a step-up clear an exposure.
        if outcome is not Outcome.ALLOW:
            return
        at = int(event.occurred_at.timestamp())
        if event.credential is CredentialKind.PASSKEY and event.action is CredentialAction.ADDED:
            self._enrol_passkey(event.customer_id, at)
        resets = {CredentialAction.RESET, CredentialAction.ADDED}
        if event.credential is CredentialKind.PASSWORD and event.action in resets:
            since = self.exposed.get(event.customer_id)
            if since is not None and since <= event.occurred_at:
                del self.exposed[event.customer_id]
                self.changes.exposed_cleared.add(event.customer_id)

    def _touch_session(self, event: Event, session: SessionFacts) -> None:
        if session.first_sensitive_at is None and event.session_id is not None:
            self._save_session(
                event.session_id, replace(session, first_sensitive_at=event.occurred_at)
            )

    def _save_session(self, session_id: str, session: SessionFacts) -> None:
        self._save(session_key(session_id), session)

    def _save(self, key: str, session: SessionFacts) -> None:
        self.sessions[key] = session
        self.changes.sessions.add(key)

    def sweep(self, at: int) -> None:
        """Drop expired sessions, windows and population counts; amortised: only once the
        tables have doubled."""
        if self._size() < self._sweep_at:
            return
        old = at - SESSION_SECONDS
        for key in [k for k, s in self.sessions.items() if s.login_at.timestamp() < old]:
            del self.sessions[key]
        for key in [k for k, b in self.buckets.items() if max(b, default=0) <= at - WINDOW_SECONDS]:
            del self.buckets[key]
        # A value nobody logged in with for seven periods (an old browser build) counts 0.
        stale = at // PERIOD_SECONDS - PERIODS
        for key in [k for k, periods in self.counts.items() if max(periods, default=0) <= stale]:
            del self.counts[key]
        self._sweep_at = max(SWEEP_FLOOR, 2 * self._size())

    def _size(self) -> int:
        return len(self.sessions) + len(self.buckets) + len(self.counts)

    def forget_changes(self) -> None:
        """Nobody will save them (replay): drop the record of what changed."""
        self.changes = Changes()

    def expose(self, customer: str, since: datetime) -> None:
        self.exposed[customer] = since


def keys_for(events: Iterable[Event], enricher: Enricher) -> set[str]:
    """The counter keys a group of events reads: what a store loads before deciding them."""
    keys = {POP_LOGINS, POP_USERS}
    for event in events:
        if event.session_id is not None:
            keys.add(session_key(event.session_id))
        if event.customer_id is not None and not isinstance(event, LoginAttempt):
            keys.add(latest_session_key(event.customer_id))
        if isinstance(event, LoginAttempt):
            network = enricher.network(event.ip)
            software = enricher.software(event.user_agent)
            values = history_values(network, software, event.device_id, event.occurred_at)
            windows = _window_values(network, software)
            keys |= {window_key(kind, value) for kind, value in windows}
            keys |= {population_key(level, values[level]) for level in POPULATION_LEVELS}
    return keys


def _window_values(network: NetworkFacts, software: SoftwareFacts) -> list[tuple[WindowKind, str]]:
    found = [
        (WindowKind.IP, network.ip if network.unknown is None else None),
        (WindowKind.PREFIX, network.prefix if network.unknown is None else None),
        (WindowKind.ASN, network.asn),
        (WindowKind.USER_AGENT, software.user_agent),
    ]
    return [(kind, value) for kind, value in found if value is not None]
