"""Compact JSON for the guard's stored state: customer records, symbol windows, reference facts.

Times are epoch seconds, with their microseconds when they have any (a float, which holds
them exactly until 2242, when its spacing reaches a microsecond). Memory keeps microseconds,
and a window edge must fall where it falls in memory, or SQL and replay would decide an event
at the edge differently (a cooling-off or a risky login's hours ending up to a second early).
Whole seconds are written as before, and the release before this one reads either. Prices
are strings (Decimals survive the round trip exactly).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from kabuguard.risk.money import Destination, DestinationStatus
from kabuguard.risk.trading import InstrumentFacts, TradingProfile
from kabuguard.state.coordination import SymbolWindow
from kabuguard.state.guard import CustomerRecord
from kabuguard.state.money import CustomerMoney
from kabuguard.state.trading import Sell

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def _ts(at: datetime | None) -> int | float | None:
    if at is None:
        return None
    seconds, rest = divmod(at - _EPOCH, _SECOND)
    return seconds if not rest else seconds + rest.microseconds / 1_000_000


def _at(ts: float | None) -> datetime | None:
    """The instant `_ts` wrote: exact to the microsecond (a float's error is far below one)."""
    if ts is None:
        return None
    seconds = math.floor(ts)
    return _EPOCH + timedelta(seconds=seconds, microseconds=round((ts - seconds) * 1_000_000))


def _dec(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def _undec(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def dump_record(record: CustomerRecord) -> str:
    profile, money = record.profile, record.money
    body: dict[str, Any] = {
        "p": _profile(profile) if profile is not None else None,
        "s": [[sell.at, sell.yen, sell.symbol] for sell in record.sells],
        "d": [
            [d.destination_id, d.status.value, _ts(d.changed_at), _ts(d.cooling_until)]
            for d in money.destinations.values()
        ],
        # Apart from "d", so that a record stays readable by the release before this one.
        "ds": sorted(d.destination_id for d in money.destinations.values() if d.signed),
        # What was dropped to stay within the cap; always written (null: nothing), so that a
        # record without it is known to come from a release that dropped without keeping.
        "f": _destination(money.forgotten) if money.forgotten is not None else None,
        "w": money.largest_withdrawal,
        "r": [_ts(money.risky_login_at), money.risky_login_score],
        "l": [_ts(money.last_login_at), _ts(money.previous_login_at), money.last_session],
        # Apart from "l", so that the release before, which unpacks three, reads the record.
        "lc": money.last_completed,
        "u": _ts(record.pivoted_until),
    }
    return orjson.dumps(body).decode()


def _destination(found: Destination) -> list[Any]:
    return [found.status.value, _ts(found.changed_at), _ts(found.cooling_until), found.signed]


def _forgotten(body: dict[str, Any]) -> Destination | None:
    # A record from the release before keeps nothing of what it dropped. Reading a full one as
    # having dropped a refused destination would hold every withdrawal to the customer's own
    # earlier account for good, with no way for staff to clear it: it is read as it was.
    found = body.get("f")
    if found is None:
        return None
    status, changed, cooling, signed = found
    changed_at = _at(changed)
    assert changed_at is not None
    return Destination("", DestinationStatus(status), changed_at, _at(cooling), signed=signed)


def _profile(profile: TradingProfile) -> list[Any]:
    symbols, markets = sorted(profile.symbols), sorted(profile.markets)
    return [profile.orders, profile.largest_yen, symbols, markets, profile.thin_buys]


def load_record(text: str) -> CustomerRecord:
    body = orjson.loads(text)
    p = body["p"]
    profile = (
        TradingProfile(p[0], p[1], frozenset(p[2]), frozenset(p[3]), p[4])
        if p is not None
        else None
    )
    destinations = {}
    signed = set(body.get("ds", ()))  # absent in records stored before it existed
    for destination_id, status, changed, cooling in body["d"]:
        changed_at = _at(changed)
        assert changed_at is not None
        destinations[destination_id] = Destination(
            destination_id,
            DestinationStatus(status),
            changed_at,
            _at(cooling),
            signed=destination_id in signed,
        )
    risky_at, risky_score = body["r"]
    last, previous, session = body["l"]
    money = CustomerMoney(
        destinations=destinations,
        forgotten=_forgotten(body),
        largest_withdrawal=body["w"],
        risky_login_at=_at(risky_at),
        risky_login_score=risky_score,
        last_login_at=_at(last),
        previous_login_at=_at(previous),
        last_session=session,
        # Records from before logins were followed to completion: completed ones.
        last_completed=body.get("lc", True),
    )
    sells = [Sell(at, yen, symbol) for at, yen, symbol in body["s"]]
    return CustomerRecord(profile, sells, money, _at(body["u"]))


def dump_window(window: SymbolWindow) -> str:
    body = {
        "b": [[c, at, w, list(keys)] for c, (at, w, keys) in window.buyers.items()],
        "d": {str(day): sorted(seen) for day, seen in window.days.items()},
        "n": {str(day): count for day, count in window.counts.items()},
        "a": window.alert_opened,
        "c": window.case_id,
    }
    return orjson.dumps(body).decode()


def load_window(text: str) -> SymbolWindow:
    """Also reads what earlier releases wrote: calm buyers' keys, every day as hashes."""
    body = orjson.loads(text)
    window = SymbolWindow(
        buyers={c: (at, w, tuple(keys) if w >= 1.0 else ()) for c, at, w, keys in body["b"]},
        days={int(day): set(seen) for day, seen in body["d"].items()},
        counts={int(day): count for day, count in body.get("n", {}).items()},
        alert_opened=body["a"],
        case_id=body["c"],
    )
    window.settle()
    return window


def dump_reference(facts: InstrumentFacts) -> str:
    body = [
        facts.symbol, facts.market, facts.currency, facts.lot_size, facts.listed_shares,
        facts.average_daily_volume, _dec(facts.limit_up), _dec(facts.limit_down),
        _dec(facts.last), _ts(facts.last_at), _dec(facts.previous_close),
    ]  # fmt: skip
    return orjson.dumps(body).decode()


def load_reference(text: str) -> InstrumentFacts:
    s, m, cur, lot, listed, adv, up, down, last, last_at, close = orjson.loads(text)
    return InstrumentFacts(
        s, m, cur, lot, listed, adv, _undec(up), _undec(down), _undec(last), _at(last_at),
        _undec(close),
    )  # fmt: skip
