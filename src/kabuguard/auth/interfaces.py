"""The auth package's taxonomies, Protocols and errors (each error carries its HTTP answer)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol


class LockScope(StrEnum):
    """What a self-service lock stops. Standing orders at the broker keep running either way."""

    ALL = "all"  # login, trading and withdrawals (a customer_lock through the engine)
    LOGIN = "login"  # kabuguard's logins only


class SessionScope(StrEnum):
    ENROL = "enrol"  # may only register a passkey (no phishing-resistant factor yet)
    FULL = "full"


class Purpose(StrEnum):
    """What a WebAuthn challenge was issued for; a challenge serves only its purpose."""

    LOGIN = "login"
    REGISTER = "register"
    SIGN = "sign"
    UNLOCK = "unlock"


class CodeSender(Protocol):
    """Delivers an e-mail one-time code; implemented over the notification outbox."""

    def send_code(
        self, customer_id: str, code: str, *, now: datetime, expires_at: datetime, ip: str | None
    ) -> bool:
        """Queue the code for the customer's registered address; False if there is none."""


class AuthError(Exception):
    """Base of the package's errors: each names its status and a stable code."""

    status = 400
    code = "auth_error"

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidCredentials(AuthError):
    """The same answer for an unknown user, a wrong password and a paused password path."""

    status, code = 401, "invalid_credentials"

    def __init__(self) -> None:
        super().__init__(
            "the username or password is wrong, or password login is paused after repeated "
            "failures; a passkey still works"
        )


class TooManyAttempts(AuthError):
    status, code = 429, "too_many_attempts"


class StepExpired(AuthError):
    status, code = 400, "step_expired"


class FactorNotAllowed(AuthError):
    status, code = 403, "factor_not_allowed"


class InvalidCode(AuthError):
    status, code = 401, "invalid_code"


class PasskeyRejected(AuthError):
    status, code = 400, "passkey_rejected"
    customer_id: str | None = None  # whose registered passkey it was, when known


class LoginRefused(AuthError):
    status, code = 403, "login_refused"


class ChangeRefused(AuthError):
    """The engine did not allow a credential change (challenge, hold or deny): nothing stored.

    `wait_hours` is set when the change is paused because the session's login was risky: the
    engine lifts that once the login's session period is over, so the customer can wait.
    """

    status, code = 403, "change_refused"

    def __init__(self, message: str, *, wait_hours: int | None = None) -> None:
        super().__init__(message)
        self.wait_hours = wait_hours


class SessionRequired(AuthError):
    status, code = 401, "session_required"


class NotFound(AuthError):
    status, code = 404, "not_found"


class Conflict(AuthError):
    status, code = 409, "conflict"


class InvalidInput(AuthError):
    status, code = 422, "invalid_request"


class WeakPassword(AuthError):
    status, code = 422, "weak_password"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="password")
