"""Webhook signatures: what a broker's gateway checks with verify_signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kabuguard.notifications.signing import InvalidSignature, sign, verify_signature

SECRET = b"gateway-secret"
NOW = datetime(2026, 11, 21, tzinfo=UTC)
BODY = b'{"to":"+819012345678"}'


def header(at: datetime = NOW, body: bytes = BODY, secret: bytes = SECRET) -> str:
    return sign(secret, body, int(at.timestamp()))


def test_a_fresh_signature_over_the_same_body_verifies() -> None:
    verify_signature(SECRET, header(), BODY, NOW + timedelta(seconds=299))
    assert header().startswith(f"t={int(NOW.timestamp())},v1=")


@pytest.mark.parametrize(
    ("signed", "now", "problem"),
    [
        (header(), NOW + timedelta(seconds=301), "more than 300 s"),  # a replay, too late
        (header(), NOW - timedelta(seconds=301), "more than 300 s"),  # from the future
        (header(body=b"{}"), NOW, "no signature matches"),  # the body was altered
        (header(secret=b"other"), NOW, "no signature matches"),
        ("v1=abc", NOW, "malformed"),
        (f"t={int(NOW.timestamp())}", NOW, "malformed"),
        ("", NOW, "malformed"),
    ],
)
def test_stale_altered_or_malformed_requests_are_refused(
    signed: str, now: datetime, problem: str
) -> None:
    with pytest.raises(InvalidSignature, match=problem):
        verify_signature(SECRET, signed, BODY, now)


def test_during_rotation_any_listed_signature_may_match_and_the_window_is_the_receivers() -> None:
    both = header(secret=b"old") + ",v1=" + header().split("v1=")[1]
    verify_signature(SECRET, both, BODY, NOW)
    verify_signature(SECRET, header(), BODY, NOW + timedelta(minutes=9), tolerance=600)
