"""API keys: stored as a keyed digest, scoped, and refused keys remembered briefly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text, update

from kabuguard.apikeys import services
from kabuguard.apikeys.interfaces import DEFAULT_SCOPES, Scope, Unauthenticated
from kabuguard.apikeys.models import ApiKeyRow
from kabuguard.db import Database

PEPPER = b"p" * 40


def _create(database: Database) -> str:
    with database.write() as session:
        return services.create(
            session,
            name="k",
            scopes=[Scope.EVENTS_WRITE],
            pepper=PEPPER,
            actor="test",
            at=datetime.now(UTC),
        )


def test_a_key_authenticates_only_with_the_right_pepper(database: Database) -> None:
    token = _create(database)
    assert services.Authenticator(database, PEPPER).authenticate(token).scopes == {
        Scope.EVENTS_WRITE
    }
    with pytest.raises(Unauthenticated):
        services.Authenticator(database, b"q" * 40).authenticate(token)
    with pytest.raises(Unauthenticated, match="malformed"):
        services.Authenticator(database, PEPPER).authenticate("not-a-key")


def test_refused_keys_are_remembered_so_a_flood_does_not_reach_the_database(
    database: Database,
) -> None:
    authenticator = services.Authenticator(database, PEPPER)
    forged = "kg_0123456789abcdef_forged"
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(forged)
    with database.engine.begin() as connection:  # any further lookup would now fail loudly
        connection.execute(text("ALTER TABLE api_keys RENAME TO api_keys_away"))
    try:
        with pytest.raises(Unauthenticated):
            authenticator.authenticate(forged)
    finally:
        with database.engine.begin() as connection:
            connection.execute(text("ALTER TABLE api_keys_away RENAME TO api_keys"))


def test_remembers_says_whether_a_key_is_answered_without_the_database(
    database: Database,
) -> None:
    token = _create(database)
    authenticator = services.Authenticator(database, PEPPER, ttl_seconds=60)
    assert not authenticator.remembers(token)
    authenticator.authenticate(token)
    assert authenticator.remembers(token)
    assert authenticator.remembers(f" {token} ")  # as the header's token may come
    assert not authenticator.remembers(token + "x")
    expired = services.Authenticator(database, PEPPER, ttl_seconds=0)
    expired.authenticate(token)
    assert not expired.remembers(token)


def test_staff_scopes_are_not_in_the_default_set() -> None:
    staff = {Scope.CASES_READ, Scope.CASES_WRITE, Scope.LISTS_WRITE}
    assert staff.isdisjoint(DEFAULT_SCOPES)
    assert [s.value for s in Scope] == sorted(s.value for s in Scope)  # alphabetised


def test_a_stored_scope_this_version_does_not_know_grants_nothing_and_does_not_crash(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    token = _create(database)
    with database.write() as session:  # renamed, withdrawn, or written by a newer version
        session.execute(update(ApiKeyRow).values(scopes="cases:admin events:write lists:write"))
    key = services.Authenticator(database, PEPPER).authenticate(token)  # was a ValueError
    assert key.scopes == {Scope.EVENTS_WRITE, Scope.LISTS_WRITE}
    logged = [r for r in caplog.records if r.name == services.__name__]
    assert [getattr(r, "scopes", None) for r in logged] == [["cases:admin"]]
