"""Compact JSON for login-risk state kept in a store (SQL today, Redis later)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from kabuguard.risk.history import Pending, Profile, Seen
from kabuguard.risk.login import AsnClass, NetworkFacts, SessionFacts, Unknown


def dump_profile(profile: Profile) -> str:
    levels = [[[s.value, s.count, s.last] for s in level] for level in profile.levels]
    body: dict[str, Any] = {
        "f": profile.first,
        "l": profile.last,
        "p": profile.passkey,
        "v": levels,
    }
    if profile.second_step:
        body["s"] = True
    if profile.pending:
        # "q" keeps the shape the release before reads; what it does not know goes apart.
        body["q"] = [[list(p.values), p.at] for p in profile.pending]
        if any(not p.sell_only or p.due is not None for p in profile.pending):
            body["qd"] = [[p.sell_only, p.due] for p in profile.pending]
    if not profile.learned:
        body["n"] = False
    return orjson.dumps(body).decode()


def load_profile(text: str) -> Profile:
    body = orjson.loads(text)
    levels = tuple(tuple(Seen(v, c, t) for v, c, t in level) for level in body["v"])
    # Rows written before logins owed a second step have no "qd": sell-only ones.
    waiting = body.get("q", ())
    kinds = body.get("qd") or [[True, None]] * len(waiting)
    pending = tuple(
        Pending(tuple(values), at, sell_only, due)
        for (values, at), (sell_only, due) in zip(waiting, kinds, strict=True)
    )
    return Profile(
        body["f"],
        body["l"],
        levels,
        passkey=body["p"],
        pending=pending,
        learned=body.get("n", True),
        second_step=body.get("s", False),
    )


def dump_session(session: SessionFacts) -> str:
    network = session.network
    body: dict[str, Any] = {
        "c": session.customer_id,
        "t": session.login_at.timestamp(),
        "n": [network.ip, network.prefix, network.asn, network.country],
        "k": network.asn_class.value,
        "u": network.unknown.value if network.unknown else None,
        "s": session.risk_score,
        "r": session.restricted,
        "a": session.first_sensitive_at.timestamp() if session.first_sensitive_at else None,
        "p": session.stepped_up,
    }
    return orjson.dumps(body).decode()


def load_session(text: str) -> SessionFacts:
    body = orjson.loads(text)
    ip, prefix, asn, country = body["n"]
    unknown = Unknown(body["u"]) if body["u"] else None
    network = NetworkFacts(ip, prefix, asn, country, AsnClass(body["k"]), unknown)
    first = body["a"]
    return SessionFacts(
        customer_id=body["c"],
        login_at=datetime.fromtimestamp(body["t"], UTC),
        network=network,
        risk_score=body["s"],
        restricted=body["r"],
        first_sensitive_at=datetime.fromtimestamp(first, UTC) if first is not None else None,
        stepped_up=body.get("p", False),  # absent in sessions stored before it existed
    )
