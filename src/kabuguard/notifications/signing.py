"""Webhook signatures: HMAC-SHA256 over the timestamp and the body, with replay protection.

Header: `X-Kabuguard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`
(the scheme Stripe and others use). The timestamp is signed, so a captured request cannot be
replayed once it is older than the receiver's tolerance; within the tolerance, the receiver
drops repeats by the `Idempotency-Key` header. `verify_signature` is what a broker's SMS or
push gateway runs; it needs only the standard library.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

SIGNATURE_HEADER = "X-Kabuguard-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TOLERANCE_SECONDS = 300.0


class InvalidSignature(Exception):
    """The request is not from kabuguard, was altered, or is too old (a replay)."""


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify_signature(
    secret: bytes,
    header: str,
    body: bytes,
    now: datetime,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Raise InvalidSignature unless `header` signs `body` with `secret` within `tolerance`."""
    timestamp, signatures = _parse(header)
    if abs(now.timestamp() - timestamp) > tolerance:
        raise InvalidSignature(f"the timestamp is more than {tolerance:g} s from now")
    expected = _mac(secret, timestamp, body)
    # Several v1 values may be sent while the secret is being rotated.
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise InvalidSignature("no signature matches the body")


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidSignature(f"malformed {SIGNATURE_HEADER} header")
    return timestamp, signatures


def _mac(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
