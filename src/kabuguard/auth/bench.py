"""`kabuguard bench` hooks: password and passkey-assertion verifications per second.

The passkey figure needs real assertions without a browser, so this module also holds a
software authenticator (ES256 via `cryptography`, CBOR via py_webauthn's helper) that speaks
the same JSON as a browser's PublicKeyCredential.toJSON(). Tests use it as their
authenticator too; the browser tests use Chromium's virtual authenticator instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import encode_cbor

from kabuguard.auth.passwords import hash_password, verify_password
from kabuguard.auth.webauthn import RelyingParty, b64, unb64, verify_assertion, verify_registration

_UP, _UV, _AT = 0x01, 0x04, 0x40


class SoftAuthenticator:
    """A platform authenticator in software: one discoverable ES256 credential with UV."""

    def __init__(self, rp_id: str, origin: str) -> None:
        self.rp_id = rp_id
        self.origin = origin
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = b64(os.urandom(16))
        self.user_handle: str | None = None
        self.sign_count = 0

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge,
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()

    def _rp_hash(self, rp_id: str | None) -> bytes:
        return hashlib.sha256((rp_id or self.rp_id).encode()).digest()

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        """navigator.credentials.create({publicKey: options}) as JSON."""
        self.user_handle = options["user"]["id"]
        numbers = self._key.public_key().public_numbers()
        cose = encode_cbor(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )
        raw_id = unb64(self.credential_id)
        attested = bytes(16) + len(raw_id).to_bytes(2, "big") + raw_id + cose
        auth_data = (
            self._rp_hash(None) + bytes([_UP | _UV | _AT]) + (0).to_bytes(4, "big") + attested
        )
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], None)
        return {
            "id": self.credential_id,
            "rawId": self.credential_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "attestationObject": b64(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        user_verified: bool = True,
    ) -> dict[str, Any]:
        """navigator.credentials.get({publicKey: options}) as JSON (origin/RP ID overridable
        to play a phishing site)."""
        self.sign_count += 1
        flags = _UP | (_UV if user_verified else 0)
        auth_data = self._rp_hash(rp_id) + bytes([flags]) + self.sign_count.to_bytes(4, "big")
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = self._key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return {
            "id": self.credential_id,
            "rawId": self.credential_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "authenticatorData": b64(auth_data),
                "signature": b64(signature),
                "userHandle": self.user_handle,
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def password_verifications(seconds: float = 1.0) -> dict[str, float]:
    stored = hash_password("correct horse battery staple 2026")
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds or done < 3:
        verify_password(stored, "correct horse battery staple 2026")
        done += 1
    return {"password_verifications_per_second": _rate(done, elapsed)}


def passkey_verifications(count: int = 300) -> dict[str, float]:
    rp = RelyingParty("bench.example", "bench", ("https://bench.example",))
    authenticator = SoftAuthenticator(rp.id, rp.origins[0])
    challenge = os.urandom(32)
    options = {"challenge": b64(challenge), "user": {"id": b64(os.urandom(32))}}
    key = verify_registration(rp, authenticator.create(options), challenge)
    assertions = [authenticator.get({"challenge": b64(challenge)}) for _ in range(count)]
    started = time.perf_counter()
    for previous, assertion in enumerate(assertions):
        verify_assertion(
            rp, assertion, challenge=challenge, public_key=key.public_key, sign_count=previous
        )
    return {
        "passkey_assertion_verifications_per_second": _rate(count, time.perf_counter() - started)
    }


def measure() -> dict[str, float]:
    """Figures for `kabuguard bench` (single thread; argon2id at m=19 MiB, t=2, p=1)."""
    return password_verifications() | passkey_verifications()
