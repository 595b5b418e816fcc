"""Password hashing and acceptance: the one module that imports argon2-cffi and zxcvbn.

argon2id at the OWASP Password Storage Cheat Sheet's first configuration: m = 19 MiB, t = 2,
p = 1 (RFC 9106 argon2id). A stored hash made with other parameters is rehashed at the next
successful verification. Unknown usernames still cost one verification against a dummy hash,
so timing does not tell whether an account exists.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

from kabuguard.auth.interfaces import WeakPassword

MIN_LENGTH = 10
MAX_LENGTH = 256  # long enough for any passphrase; bounds the hashing work per attempt

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)


@cache
def _dummy_hash() -> str:
    return HASHER.hash("kabuguard-dummy-password-for-timing")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one uses outdated parameters)."""
    try:
        HASHER.verify(stored or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if stored is None:  # the dummy matched: impossible for a real attempt, refuse anyway
        return False, None
    return True, hash_password(password) if HASHER.check_needs_rehash(stored) else None


@cache
def _common() -> frozenset[str]:
    # zxcvbn's list of the 30,000 most common passwords from breach corpora (maintained on
    # PyPI; offline, so a login never asks a third party about a password).
    return frozenset(FREQUENCY_LISTS["passwords"])


def check_new_password(password: str, username: str) -> None:
    """Refuse short, overlong, common/breached and username-containing passwords (NIST 800-63B)."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password must be at most {MAX_LENGTH} characters long")
    folded = password.casefold()
    if username and username.casefold() in folded:
        raise WeakPassword("the password must not contain the username")
    if folded in _common():
        raise WeakPassword("this password is on a list of common or breached passwords")
