"""argon2id parameters, rehash on verify, the dummy hash, and what passwords are refused."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type

from kabuguard.auth.interfaces import WeakPassword
from kabuguard.auth.passwords import check_new_password, hash_password, verify_password


def test_hashes_are_argon2id_at_the_owasp_parameters() -> None:
    stored = hash_password("violet-harbour-lantern-42")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(stored, "violet-harbour-lantern-42") == (True, None)
    assert verify_password(stored, "violet-harbour-lantern-43") == (False, None)


def test_an_outdated_hash_is_replaced_at_the_next_successful_login() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, type=Type.ID)
    ok, new_hash = verify_password(
        old.hash("violet-harbour-lantern-42"), "violet-harbour-lantern-42"
    )
    assert ok
    assert new_hash is not None
    assert "$m=19456,t=2,p=1$" in new_hash


def test_unknown_users_are_verified_against_a_dummy_and_never_match() -> None:
    assert verify_password(None, "kabuguard-dummy-password-for-timing") == (False, None)
    assert verify_password("not a hash", "anything") == (False, None)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short-pw1", "at least 10"),
        ("x" * 257, "at most"),
        ("my-hanako-2026-pass", "username"),
        ("1234567890", "common or breached"),
        ("Password123", "common or breached"),
        ("qwertyuiop", "common or breached"),
    ],
)
def test_weak_passwords_are_refused(password: str, problem: str) -> None:
    with pytest.raises(WeakPassword, match=problem):
        check_new_password(password, "hanako")


def test_a_good_passphrase_is_accepted() -> None:
    check_new_password("violet-harbour-lantern-42", "hanako")
