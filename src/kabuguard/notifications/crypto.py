"""Field encryption for contact details at rest: the one module that imports `cryptography`.

AES-256-GCM (NIST SP 800-38D) with a random 96-bit nonce per value; the associated data names
the customer and field, so a ciphertext copied onto another customer's row does not decrypt.
A value is stored as `<key id>:<base64url(nonce || ciphertext || tag)>`; the key id (the first
8 bytes of SHA-256 over the key) says which key to decrypt with, so keys can be rotated:
new values use the current key, older ones decrypt with a previous key until rewritten.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
_NONCE_BYTES = 12  # the size GCM is specified for; larger nonces are hashed down


class UndecryptableValue(Exception):
    """Unknown key id, or the value was altered or moved to another field."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"kabuguard-data-key-id" + key).hexdigest()[:16]


def decode_key(text: str) -> bytes:
    """A data key as configured: base64 (standard or URL-safe) of exactly 32 bytes."""
    try:
        key = base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_").encode())
    except ValueError:
        raise ValueError("the data key must be base64 of 32 random bytes") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"the data key must be base64 of 32 bytes, not {len(key)} bytes")
    return key


class FieldCipher:
    def __init__(self, current: bytes, previous: Sequence[bytes] = ()) -> None:
        self._current = key_id(current)
        self._keys = {key_id(key): AESGCM(key) for key in (*previous, current)}
        # A separate key for digests (RFC 5869): never the encryption key itself.
        self._digest_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"kabuguard contact digest"
        ).derive(current)

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[self._current].encrypt(nonce, plaintext.encode(), context.encode())
        return f"{self._current}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, *, context: str) -> str:
        kid, _, body = stored.partition(":")
        aead = self._keys.get(kid)
        if aead is None:
            raise UndecryptableValue(f"no configured data key has id {kid}")
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            plain = aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError):
            raise UndecryptableValue("the value was altered or belongs elsewhere") from None
        return plain.decode()

    def digest(self, value: str) -> str:
        """Keyed HMAC-SHA256 of a normalised value: equal values compare without decrypting."""
        return hmac.new(self._digest_key, value.encode(), hashlib.sha256).hexdigest()
