"""Authenticator-app codes: the one module that imports pyotp and qrcode.

RFC 6238 TOTP with the parameters every authenticator app supports: SHA-1, 6 digits, 30 s
steps, a 160-bit secret (RFC 4226 §4 recommends at least 128). A code is accepted one step
either side of now (clock drift) and each step only once: the step of the last accepted code
is stored and a code must be from a later step (RFC 6238 §5.2).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

import pyotp
import qrcode  # type: ignore[import-untyped]
import qrcode.image.svg  # type: ignore[import-untyped]

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
_DIGESTS: dict[str, Any] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}


def new_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters: 160 bits


def step_at(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int, *, digits: int = DIGITS, algorithm: str = "sha1") -> str:
    return pyotp.TOTP(secret, digits=digits, digest=_DIGESTS[algorithm]).generate_otp(step)


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The step (now ± 1) whose code this is, compared in constant time; None if none."""
    candidate = code.strip().replace(" ", "")
    if len(candidate) != DIGITS or not candidate.isdigit():
        return None
    now = step_at(at)
    found = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at(secret, step), candidate):
            found = step
    return found


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG: drawn here, no external service sees the secret."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=12, border=2)
    return str(image.to_string(encoding="unicode"))
