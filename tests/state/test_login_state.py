"""Login-risk state behaves alike in MemoryState and in SqlBatch (SQLite and PostgreSQL).

The SQL side runs every event in a batch of its own (load, decide, flush), so whatever a later
event sees has been through the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from kabuguard.db import Database
from kabuguard.risk.codes import Outcome, ReasonCode
from kabuguard.risk.decisions import Verdict
from kabuguard.risk.history import MEMORY_SECONDS, defer, learn
from kabuguard.risk.policy import Policy
from kabuguard.state.codec import dump_profile, load_profile
from kabuguard.state.login import POP_USERS
from kabuguard.state.login_sql import SqlLoginStore
from kabuguard.state.memory import MemoryState
from kabuguard.state.models import LoginCounterRow
from kabuguard.state.sql import ListCache, SqlBatch
from tests import factories
from tests.state.test_conformance import Impl, SqlStateUnderTest

DOCOMO = "1.79.158.24"
AWS = "18.181.233.59"
SEOUL = "121.163.55.136"
STRANGER = "60.64.0.77"  # a Japanese ISP this customer never used
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


@pytest.fixture(params=["MemoryState", "SqlState"])
def state(request: pytest.FixtureRequest, database: Database) -> Iterator[Impl]:
    """Each implementation, as in test_conformance (SQL: one batch per event)."""
    if request.param == "MemoryState":
        yield Impl(MemoryState())
        return
    with database.write() as session:
        yield Impl(SqlStateUnderTest(session), session)


def _login(minutes: float, **fields: Any) -> dict[str, Any]:
    defaults = {"ip": DOCOMO, "user_agent": CHROME, "device_id": "d-1", "session_id": "s-1"}
    return factories.login(minutes=minutes, **(defaults | fields))


def _decide(state: Impl, document: dict[str, Any]) -> Verdict:
    return state.decide(factories.typed(document))


def _codes(verdict: Verdict) -> set[str]:
    return {found.code.value for found in verdict.hits}


def _expose(state: Impl, customer: str, since: datetime) -> None:
    if isinstance(state.state, MemoryState):
        state.state.login.expose(customer, since)
    else:
        assert state.session is not None
        SqlLoginStore(state.session).expose([customer], since, "test list")


def test_allowed_logins_build_history(state: Impl) -> None:
    first = _decide(state, _login(0))
    assert ReasonCode.LOGIN_HISTORY_NONE in _codes(first)
    second = _decide(state, _login(60 * 24, session_id="s-2"))
    assert not _codes(second) & {"login:history:none", "login:device:new"}


def test_failed_and_challenged_logins_are_not_learned(state: Impl) -> None:
    _decide(state, _login(0, result="failure"))
    _decide(state, _login(1, user_agent="python-requests/2.31"))  # automation: challenged
    later = _decide(state, _login(60, session_id="s-2"))
    assert ReasonCode.LOGIN_HISTORY_NONE in _codes(later)


def test_stuffing_windows_add_up_across_batches(state: Impl) -> None:
    for n in range(12):
        _decide(state, factories.login(None, n / 10, ip=AWS, attempted_username=f"u{n}",
                                      result="failure"))  # fmt: skip
    verdict = _decide(state, factories.login("c-9", 2, ip=AWS, result="failure"))
    assert ReasonCode.LOGIN_STUFFING_BURST in _codes(verdict)


def test_success_in_a_burst_locks_until_the_lock_expires(state: Impl) -> None:
    for n in range(12):
        _decide(state, factories.login(None, n / 10, ip=AWS, attempted_username=f"u{n}",
                                      result="failure"))  # fmt: skip
    hit = _decide(state, factories.login("c-9", 2, ip=AWS))
    assert hit.outcome is Outcome.DENY
    assert hit.restrictions
    owner = _decide(state, _login(3, customer_id="c-9"))
    assert ReasonCode.RESTRICTION_LOGIN_ACTIVE in _codes(owner)


def test_session_facts_reach_later_events_of_the_session(state: Impl) -> None:
    login = _decide(state, _login(0, ip=SEOUL))  # abroad, no history: risky, allowed
    assert login.outcome is Outcome.ALLOW
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(login)
    buy = _decide(state, factories.order(minutes=30, side="buy", session_id="s-1", ip=SEOUL))
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(buy)
    # An event naming no session kabuguard knows, or none at all, meets the customer's latest
    # login: leaving the session id out must not escape a sell-only session.
    for session in ("s-unknown", None):
        order = factories.order(minutes=31, side="buy", session_id=session, ip=SEOUL)
        assert ReasonCode.SESSION_LOGIN_RISKY in _codes(_decide(state, order)), session


def test_a_calm_login_of_its_own_is_not_marked_by_another_risky_session(state: Impl) -> None:
    _settle(state)
    _decide(state, _login(0, ip=SEOUL, device_id="d-abroad", session_id="far"))
    calm = _decide(state, _login(1, session_id="home"))
    assert ReasonCode.SESSION_LOGIN_RISKY not in _codes(calm)
    buy = _decide(state, factories.order(minutes=2, side="buy", session_id="home", ip=DOCOMO))
    assert ReasonCode.SESSION_LOGIN_RISKY not in _codes(buy)


def test_an_inferred_session_does_not_score_a_network_change(state: Impl) -> None:
    _settle(state)
    _decide(state, _login(0, session_id="home"))
    buy = _decide(state, factories.order(minutes=2, side="buy", session_id=None, ip=STRANGER))
    assert ReasonCode.SESSION_NETWORK_CHANGED not in _codes(buy)


def test_exposed_customers_need_a_passkey_until_they_reset(state: Impl) -> None:
    _expose(state, "c-1", factories.BASE_TIME - timedelta(days=1))
    assert ReasonCode.LOGIN_CREDENTIALS_EXPOSED in _codes(_decide(state, _login(0)))
    reset = {
        "event_id": "reset-1",
        "type": "credential_change",
        "customer_id": "c-1",
        "occurred_at": factories.at(5),
        "credential": "password",
        "action": "reset",
    }
    _decide(state, reset)
    assert ReasonCode.LOGIN_CREDENTIALS_EXPOSED not in _codes(_decide(state, _login(10)))


def test_a_group_reads_login_state_in_two_queries(database: Database) -> None:
    events = [factories.typed(_login(n, customer_id=f"c-{n}")) for n in range(50)]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    with database.write() as session:
        sa_event.listen(session.connection(), "before_cursor_execute", count)
        SqlBatch.for_events(session, ListCache(), events)
        sa_event.remove(session.connection(), "before_cursor_execute", count)
    assert len([s for s in statements if "login_" in s]) == 2


def test_expired_counters_are_deleted_on_flush(database: Database) -> None:
    early = factories.typed(factories.login(None, 0, ip=AWS, attempted_username="u1"))
    late = factories.typed(factories.login(None, 60 * 24, ip=AWS, attempted_username="u2"))
    with database.write() as session:
        for event in (early, late):
            batch = SqlBatch.for_events(session, ListCache(), [event])
            verdict = Verdict(Outcome.ALLOW, 0, None, (), (), "t")
            batch.signals_for(event)
            batch.record(event, verdict)
            batch.flush()
        buckets = (
            select(func.count())
            .select_from(LoginCounterRow)
            .where(LoginCounterRow.key.like("ip:%"))
        )
        assert session.execute(buckets).scalar_one() == 1  # the early bucket expired


def test_fast_sales_of_a_sell_only_session_are_held_until_one_is_let_through(
    state: Impl,
) -> None:
    _decide(state, _login(0, ip=SEOUL))  # abroad, no history: sell-only
    first = _decide(state, factories.order(minutes=0.5, side="sell", session_id="s-1", ip=SEOUL))
    assert ReasonCode.SESSION_ACTION_FAST in _codes(first)
    assert first.outcome is Outcome.HOLD
    # The held sale resubmitted at once (what a liquidation bot does) is held again.
    again = _decide(state, factories.order(minutes=1, side="sell", session_id="s-1", ip=SEOUL))
    assert ReasonCode.SESSION_ACTION_FAST in _codes(again)
    window = Policy.default().login.sensitive_action_seconds / 60
    late = _decide(
        state, factories.order(minutes=window + 1, side="sell", session_id="s-1", ip=SEOUL)
    )
    assert ReasonCode.SESSION_ACTION_FAST not in _codes(late)


def _settle(state: Impl, days: int = 30) -> None:
    """A customer who has logged in daily from home for a month."""
    for day in range(days, 0, -1):
        _decide(state, _login(-1440 * day, session_id=f"home-{day}"))


def test_logging_in_again_does_not_lift_a_sell_only_session(state: Impl) -> None:
    _settle(state)
    for minutes in (0, 5, 60):
        stranger = _decide(
            state, _login(minutes, ip=STRANGER, device_id="evil", session_id=f"a{minutes}")
        )
        assert ReasonCode.SESSION_LOGIN_RISKY in _codes(stranger), minutes
        assert stranger.outcome is Outcome.ALLOW


def test_a_sell_only_login_becomes_history_once_its_session_acted_and_is_over(
    state: Impl,
) -> None:
    _settle(state)
    first = _decide(state, _login(0, ip=STRANGER, device_id="new-phone", session_id="n-1"))
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(first)
    # A logout (or any allowed action) shows the login was completed, not abandoned.
    logout = {"event_id": "out-1", "type": "logout", "customer_id": "c-1",
              "occurred_at": factories.at(5), "session_id": "n-1", "ip": STRANGER}  # fmt: skip
    assert _decide(state, logout).outcome is Outcome.ALLOW
    hours = Policy.default().login.session_hours
    later = _decide(
        state, _login(hours * 60 + 1, ip=STRANGER, device_id="new-phone", session_id="n-2")
    )
    assert ReasonCode.SESSION_LOGIN_RISKY not in _codes(later)
    assert later.risk_score < first.risk_score


def test_a_pending_login_does_not_end_dormancy(state: Impl) -> None:
    _decide(state, _login(-1440 * 400, session_id="long-ago"))
    returning = _decide(state, _login(0, ip=STRANGER, device_id="evil", session_id="r-1"))
    again = _decide(state, _login(10, ip=STRANGER, device_id="evil", session_id="r-2"))
    for verdict in (returning, again):
        assert ReasonCode.LOGIN_HISTORY_DORMANT in _codes(verdict)


VALUES = tuple(f"value-{level}" for level in range(11))


def test_pending_logins_survive_the_store_codec() -> None:
    profile = defer(learn(None, VALUES, 0, MEMORY_SECONDS), VALUES, 86_400)
    assert load_profile(dump_profile(profile)) == profile
    assert load_profile(dump_profile(learn(None, VALUES, 0, MEMORY_SECONDS))) == learn(
        None, VALUES, 0, MEMORY_SECONDS
    )
    owing = defer(profile, VALUES, 2 * 86_400, sell_only=False, due="s-9")
    owing = replace(owing, second_step=True)
    assert load_profile(dump_profile(owing)) == owing
    stored = orjson.loads(dump_profile(owing))
    assert [at for _values, at in stored["q"]] == [86_400, 2 * 86_400]  # as the release before


def test_profiles_stored_before_logins_owed_a_second_step_still_load() -> None:
    stored = '{"f": 0, "l": 0, "p": false, "v": [[] ,[], [], [], [], [], [], [], [], [], []],'
    stored += ' "q": [[["a"], 5]]}'
    [waiting] = load_profile(stored).pending
    assert (waiting.sell_only, waiting.due, waiting.at) == (True, None, 5)


def test_a_customer_whose_first_login_waits_counts_once_among_everybody() -> None:
    state = Impl(MemoryState())
    first = _decide(state, _login(0, ip=SEOUL, session_id="s-1"))  # no history, abroad
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(first)
    _decide(state, _login(60, session_id="s-2"))  # home, while the first still waits
    assert isinstance(state.state, MemoryState)
    assert state.state.login.profiles["c-1"].pending
    assert sum(state.state.login.counts[POP_USERS].values()) == 1


def test_travel_is_measured_from_a_login_that_waits(state: Impl) -> None:
    _settle(state)
    waiting = _decide(state, _login(0, ip=STRANGER, device_id="new-phone", session_id="n-1"))
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(waiting)
    seoul = _decide(state, _login(10, ip=SEOUL, device_id="evil", session_id="k-1"))
    assert ReasonCode.LOGIN_TRAVEL_IMPOSSIBLE in _codes(seoul)


def test_a_customer_whose_only_login_waits_has_no_device_history_yet(state: Impl) -> None:
    first = _decide(state, _login(0, ip=SEOUL, session_id="s-1"))
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(first)
    home = _decide(state, _login(60, session_id="s-2"))
    assert ReasonCode.LOGIN_DEVICE_NEW not in _codes(home)
    assert ReasonCode.LOGIN_HISTORY_NONE in _codes(home)


def _credential_change(
    minutes: float, credential: str, action: str, **fields: Any
) -> dict[str, Any]:
    return {
        "event_id": f"{credential}-{action}-{minutes}",
        "type": "credential_change",
        "customer_id": "c-1",
        "occurred_at": factories.at(minutes),
        "credential": credential,
        "action": action,
        "ip": SEOUL,
        "session_id": "s-1",
    } | fields


def test_a_reset_not_allowed_leaves_the_exposure_standing(state: Impl) -> None:
    login = _decide(state, _login(0, ip=SEOUL))  # the phished password, from abroad
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(login)
    _expose(state, "c-1", factories.BASE_TIME - timedelta(days=1))
    reset = _decide(state, _credential_change(5, "password", "reset"))
    assert reset.outcome is Outcome.CHALLENGE
    assert ReasonCode.LOGIN_CREDENTIALS_EXPOSED in _codes(_decide(state, _login(10)))


def test_a_passkey_not_allowed_does_not_count_as_enrolled(state: Impl) -> None:
    _decide(state, _login(0, ip=SEOUL))
    added = _decide(state, _credential_change(5, "passkey", "added"))
    assert added.outcome is Outcome.CHALLENGE
    for n in range(12):
        _decide(state, factories.login(None, 10 + n / 10, ip=AWS, attempted_username=f"u{n}",
                                      result="failure"))  # fmt: skip
    # Stuffing that succeeds is refused outright for a customer without a passkey; a passkey
    # the attacker's own session asked for must not soften that to a challenge.
    assert _decide(state, factories.login("c-1", 12, ip=AWS)).outcome is Outcome.DENY


def _completed_login(state: Impl, minutes: float, session: str, **fields: Any) -> None:
    _decide(state, _login(minutes, session_id=session, **fields))
    code = _login(minutes + 0.2, session_id=session, step="second_factor", factor="totp", **fields)
    assert _decide(state, code).outcome is Outcome.ALLOW


ATTACKER = {"ip": STRANGER, "device_id": "d-attacker"}


@pytest.mark.parametrize("ending", ["code_failed", "abandoned"])
def test_a_login_that_never_passed_its_second_step_is_never_learned(
    state: Impl, ending: str
) -> None:
    for day in range(3):
        _completed_login(state, day * 1440, f"own-{day}")
    attempt = _decide(state, _login(4 * 1440, session_id="atk-1", **ATTACKER))
    assert ReasonCode.LOGIN_DEVICE_NEW in _codes(attempt)
    if ending == "code_failed":
        code = _login(4 * 1440 + 0.3, session_id="atk-1", step="second_factor", factor="totp",
                      result="failure", **ATTACKER)  # fmt: skip
        _decide(state, code)
    # A day later (every session long over) the phisher's device is still a stranger.
    again = _decide(state, _login(5 * 1440, session_id="atk-2", **ATTACKER))
    assert ReasonCode.LOGIN_DEVICE_NEW in _codes(again)


def test_a_login_is_learned_once_its_second_step_succeeds(state: Impl) -> None:
    _completed_login(state, 0, "own-0")
    _completed_login(state, 1440, "own-1", device_id="d-2", ip=STRANGER)
    later = _decide(state, _login(2 * 1440, session_id="own-2", device_id="d-2", ip=STRANGER))
    assert ReasonCode.LOGIN_DEVICE_NEW not in _codes(later)


def test_population_counts_of_values_nobody_uses_any_more_are_swept() -> None:
    memory = MemoryState()
    state = Impl(memory)

    def logins(start: int, build: str, count: int) -> None:
        for n in range(count):  # a browser build of its own each time, as updates make them
            agent = CHROME.replace("124.0.0.0", f"{build}.{n}")
            customer = f"c-{n % 500}"
            _decide(state, _login(start + n, customer_id=customer, user_agent=agent,
                                  session_id=f"{build}-{n}"))  # fmt: skip

    logins(0, "124.0", 1500)
    logins(365 * 1440, "125.0", 3000)  # a year later: last year's builds are nobody's
    counts = memory.login.counts
    assert not [key for key in counts if "Chrome/124.0." in key]
    assert [key for key in counts if "Chrome/125.0." in key]


@pytest.mark.parametrize("named", ["expired", "someone_elses"])
def test_naming_an_expired_or_foreign_session_meets_the_latest_login(
    state: Impl, named: str
) -> None:
    _decide(state, _login(0, session_id="old"))
    _decide(state, factories.login("c-2", 25 * 60, session_id="theirs", ip=DOCOMO))
    risky = _decide(state, _login(25 * 60 + 1, ip=STRANGER, device_id="d-evil", session_id="atk"))
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(risky)
    session = "old" if named == "expired" else "theirs"
    buy = factories.order(minutes=25 * 60 + 30, side="buy", session_id=session, ip=STRANGER)
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(_decide(state, buy))


def test_an_inferred_session_is_never_stored_as_the_events_own(state: Impl) -> None:
    _settle(state)
    _decide(state, factories.instrument())
    price = {"type": "price", "event_id": "p-1", "occurred_at": factories.at(-1),
             "symbol": "7203", "market": "TSE", "last": "2500"}  # fmt: skip
    _decide(state, price)
    _decide(state, _login(0, session_id="home", ip=STRANGER))  # a fixed line, not a phone's
    for minute in (5, 6):
        sell = factories.order(minutes=minute, side="sell", session_id="unknown", ip=SEOUL)
        verdict = _decide(state, sell)
        assert verdict.outcome is Outcome.ALLOW
        assert ReasonCode.SESSION_NETWORK_CHANGED not in _codes(verdict), minute
