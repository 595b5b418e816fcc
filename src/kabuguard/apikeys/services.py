"""Creating, revoking and checking API keys.

A key reads `kg_<key id>_<secret>`; the id finds the row, and HMAC-SHA256(pepper, key) is
compared in constant time. Keys carry 256 bits of randomness, so a keyed fast hash is the
right tool (a slow password hash would buy nothing and cost every request).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kabuguard.apikeys.interfaces import KeyNameTaken, Scope, Unauthenticated, UnknownKey
from kabuguard.apikeys.models import ApiKeyRow
from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind
from kabuguard.db import Database

PREFIX = "kg"
_SCOPE_VALUES = frozenset(scope.value for scope in Scope)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    name: str
    scopes: frozenset[Scope]


def digest(pepper: bytes, token: str) -> str:
    return hmac.new(pepper, token.encode("utf-8"), hashlib.sha256).hexdigest()


def create(
    session: Session, *, name: str, scopes: Iterable[Scope], pepper: bytes, actor: str, at: datetime
) -> str:
    """Store a new key and return it; this is the only time the key exists in clear."""
    if session.execute(select(ApiKeyRow.key_id).where(ApiKeyRow.name == name)).first():
        raise KeyNameTaken(name)
    key_id = secrets.token_hex(8)
    token = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    scope_list = sorted({scope.value for scope in scopes})
    session.add(
        ApiKeyRow(
            key_id=key_id,
            name=name,
            digest=digest(pepper, token),
            scopes=" ".join(scope_list),
            created_at=at,
        )
    )
    audit.append(
        session,
        kind=AuditKind.APIKEY_CREATED,
        actor=actor,
        subject=name,
        payload={"key_id": key_id, "name": name, "scopes": scope_list},
        at=at,
    )
    return token


def revoke(session: Session, *, name: str, actor: str, at: datetime) -> None:
    row = session.execute(
        select(ApiKeyRow).where(ApiKeyRow.name == name, ApiKeyRow.revoked_at.is_(None))
    ).scalar_one_or_none()
    if row is None:
        raise UnknownKey(name)
    row.revoked_at = at
    audit.append(
        session,
        kind=AuditKind.APIKEY_REVOKED,
        actor=actor,
        subject=name,
        payload={"key_id": row.key_id, "name": name},
        at=at,
    )


def list_keys(session: Session) -> list[ApiKeyRow]:
    return list(session.execute(select(ApiKeyRow).order_by(ApiKeyRow.name)).scalars())


class Authenticator:
    """Checks bearer tokens; a verified key is remembered for a few seconds.

    The short memory keeps a key lookup off the hot path; revocation therefore takes effect
    within `ttl_seconds` (documented in docs/operations.md).
    """

    def __init__(self, database: Database, pepper: bytes, *, ttl_seconds: float = 5.0) -> None:
        self._db = database
        self._pepper = pepper
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, ApiKey | Unauthenticated]] = {}
        self._lock = threading.Lock()

    def remembers(self, token: str) -> bool:
        """Whether `authenticate` would answer from memory, without touching the database
        (an event loop calls it inline then, and on a thread otherwise)."""
        with self._lock:
            cached = self._cache.get(digest(self._pepper, token.strip()))
        return cached is not None and cached[0] > time.monotonic()

    def authenticate(self, token: str) -> ApiKey:
        token_digest = digest(self._pepper, token)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(token_digest)
        if cached is not None and cached[0] > now:
            if isinstance(cached[1], Unauthenticated):
                raise cached[1]
            return cached[1]
        try:
            key: ApiKey | Unauthenticated = self._lookup(token, token_digest)
        except Unauthenticated as refused:
            key = refused  # remembered too: a flood of bad keys must not reach the database
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token_digest] = (now + self._ttl, key)
        if isinstance(key, Unauthenticated):
            raise key
        return key

    def _lookup(self, token: str, token_digest: str) -> ApiKey:
        parts = token.split("_")
        if len(parts) < 3 or parts[0] != PREFIX:
            raise Unauthenticated("the API key is malformed")
        with self._db.read() as session:
            row = session.get(ApiKeyRow, parts[1])
            if row is None or row.revoked_at is not None:
                raise Unauthenticated("the API key is unknown or revoked")
            if not hmac.compare_digest(row.digest, token_digest):
                raise Unauthenticated("the API key is unknown or revoked")
            return ApiKey(row.key_id, row.name, known_scopes(row.scopes, key_name=row.name))


def known_scopes(stored: str, *, key_name: str) -> frozenset[Scope]:
    """The scopes a stored key holds that this version knows. An unknown one (a scope renamed
    or withdrawn, or written by a newer version) grants nothing: the key is checked as if it
    lacked it, and each lookup in the database says so in the log (at most once per key and
    `ttl_seconds`), rather than every request with the key failing."""
    names = stored.split()
    unknown = sorted(name for name in names if name not in _SCOPE_VALUES)
    if unknown:
        log.warning(
            "API key holds scopes this version does not know; they grant nothing",
            extra={"key_name": key_name, "scopes": unknown},
        )
    return frozenset(Scope(name) for name in names if name in _SCOPE_VALUES)
