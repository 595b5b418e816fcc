"""RFC 6238 Appendix B test vectors, the ±1 step window, and the QR code."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from kabuguard.auth import totp

# RFC 6238 Appendix B: the seeds are ASCII "1234567890" repeated to the hash's key size.
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("seconds", "sha1", "sha256", "sha512"), VECTORS)
def test_rfc_6238_appendix_b(seconds: int, sha1: str, sha256: str, sha512: str) -> None:
    for algorithm, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        secret = base64.b32encode(SEEDS[algorithm]).decode()
        step = totp.step_at(datetime.fromtimestamp(seconds, UTC))
        assert totp.code_at(secret, step, digits=8, algorithm=algorithm) == expected


def test_a_code_is_accepted_one_step_either_side_and_no_further() -> None:
    secret = totp.new_secret()
    now = datetime(2026, 12, 1, 9, 0, 15, tzinfo=UTC)
    step = totp.step_at(now)
    for offset in (-1, 0, 1):
        assert totp.matching_step(secret, totp.code_at(secret, step + offset), now) == step + offset
    for offset in (-2, 2):
        assert totp.matching_step(secret, totp.code_at(secret, step + offset), now) is None
    assert totp.matching_step(secret, "12345", now) is None
    assert totp.matching_step(secret, "abcdef", now) is None
    later = now + timedelta(seconds=30)
    assert totp.matching_step(secret, totp.code_at(secret, step), later) == step


def test_the_qr_code_is_an_inline_svg_of_the_otpauth_uri() -> None:
    uri = totp.provisioning_uri(totp.new_secret(), "hanako", "Example Securities")
    assert uri.startswith("otpauth://totp/Example%20Securities:hanako?secret=")
    svg = totp.qr_svg(uri)
    assert "<svg" in svg
    assert "http" not in svg.split("xmlns", 1)[0]
    assert "<script" not in svg
