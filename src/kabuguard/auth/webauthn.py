"""The one module that imports py_webauthn: parameters fixed here, its errors translated.

W3C WebAuthn Level 2/3 via py_webauthn: discoverable credentials (residentKey "required"),
user verification required on registration and assertion, no attestation (consumer passkeys
are synced and attestation tells nothing useful here), the RP ID and the allowed origins from
settings. py_webauthn checks the challenge, origin, RP ID hash, UV flag, signature and that
the sign counter moves forward; every failure becomes PasskeyRejected (a 4xx), never a 5xx.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from kabuguard.auth.interfaces import PasskeyRejected
from kabuguard.config import Settings

TIMEOUT_MS = 120_000
_MAX_RESPONSE_CHARS = 64 * 1024
MAX_CREDENTIAL_ID_BYTES = 1023  # WebAuthn Level 3, §5.1 credentialId: at most 1023 bytes
_MALFORMED = (ValueError, TypeError, KeyError, ValidationError, json.JSONDecodeError)


@dataclass(frozen=True, slots=True)
class RelyingParty:
    id: str
    name: str
    origins: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> RelyingParty:
        public = urlsplit(settings.public_base_url)
        origins = tuple(o.rstrip("/") for o in settings.auth_origins) or (
            f"{public.scheme}://{public.netloc}",
        )
        rp_id = settings.auth_rp_id or (public.hostname or "localhost")
        for origin in origins:
            host = urlsplit(origin).hostname or ""
            if host != rp_id and not host.endswith("." + rp_id):
                raise ValueError(
                    f"KABUGUARD_AUTH_ORIGINS: {origin} is not on the RP ID {rp_id!r} "
                    "(set KABUGUARD_AUTH_RP_ID to its registrable domain)"
                )
        return cls(rp_id, settings.broker_name, origins)


@dataclass(frozen=True, slots=True)
class NewPasskey:
    credential_id: str  # base64url
    public_key: str  # base64url COSE key
    sign_count: int
    transports: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AssertionIds:
    credential_id: str  # base64url
    user_handle: str | None  # base64url, present for discoverable credentials


def b64(data: bytes) -> str:
    return bytes_to_base64url(data)


def unb64(text: str) -> bytes:
    try:
        return base64url_to_bytes(text)
    except _MALFORMED:
        raise PasskeyRejected("the response is malformed: invalid base64url") from None


def registration_options(
    rp: RelyingParty,
    *,
    user_handle: str,
    username: str,
    display_name: str,
    challenge: bytes,
    exclude: list[str],
) -> dict[str, Any]:
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=unb64(user_handle),
        user_name=username,
        user_display_name=display_name,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=unb64(c)) for c in exclude],
    )
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


def authentication_options(
    rp: RelyingParty, *, challenge: bytes, allow: list[str]
) -> dict[str, Any]:
    """Empty `allow`: discoverable credentials, the browser offers the user's passkeys."""
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=[PublicKeyCredentialDescriptor(id=unb64(c)) for c in allow],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


def _text(credential: Any) -> str:
    text = credential if isinstance(credential, str) else json.dumps(credential)
    if len(text) > _MAX_RESPONSE_CHARS:
        raise PasskeyRejected("the response is too large")
    return text


def verify_registration(rp: RelyingParty, credential: Any, challenge: bytes) -> NewPasskey:
    text = _text(credential)
    try:
        verified = verify_registration_response(
            credential=text,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            require_user_verification=True,
        )
        transports = json.loads(text).get("response", {}).get("transports") or []
    except WebAuthnException as error:
        raise PasskeyRejected(f"the passkey was not accepted: {error}") from None
    except _MALFORMED:
        raise PasskeyRejected("the response is malformed: not a WebAuthn credential") from None
    _bounded(verified.credential_id)
    return NewPasskey(
        b64(verified.credential_id),
        b64(verified.credential_public_key),
        verified.sign_count,
        tuple(str(t) for t in transports if isinstance(t, str))[:8],
    )


def _bounded(credential_id: bytes) -> None:
    """A longer id is no WebAuthn credential (and would not fit the column): a 4xx, not a 5xx."""
    if len(credential_id) > MAX_CREDENTIAL_ID_BYTES:
        raise PasskeyRejected(
            f"the credential id is longer than WebAuthn allows ({MAX_CREDENTIAL_ID_BYTES} bytes)",
            field="credential",
        )


def assertion_ids(credential: Any) -> AssertionIds:
    """The credential id and user handle an assertion names (to find its public key)."""
    try:
        parsed = parse_authentication_credential_json(_text(credential))
    except WebAuthnException as error:
        raise PasskeyRejected(f"the response is malformed: {error}") from None
    except _MALFORMED:
        raise PasskeyRejected("the response is malformed: not a WebAuthn assertion") from None
    _bounded(parsed.raw_id)
    handle = parsed.response.user_handle
    return AssertionIds(b64(parsed.raw_id), b64(handle) if handle else None)


def verify_assertion(
    rp: RelyingParty, credential: Any, *, challenge: bytes, public_key: str, sign_count: int
) -> int:
    """Verify an assertion; returns the authenticator's new sign count."""
    try:
        verified = verify_authentication_response(
            credential=_text(credential),
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            credential_public_key=unb64(public_key),
            credential_current_sign_count=sign_count,
            require_user_verification=True,
        )
    except WebAuthnException as error:
        raise PasskeyRejected(f"the passkey was not accepted: {error}") from None
    except _MALFORMED:
        raise PasskeyRejected("the response is malformed: not a WebAuthn assertion") from None
    return int(verified.new_sign_count)
