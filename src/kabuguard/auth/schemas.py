"""Request and response models of the auth JSON API (what OpenAPI documents)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kabuguard.auth.interfaces import LockScope
from kabuguard.auth.passkeys import Issued, PasskeyView
from kabuguard.auth.sessions import Issued as IssuedSession
from kabuguard.auth.sessions import Origin, SessionInfo
from kabuguard.auth.signing import SigningRequest
from kabuguard.notifications.kinds import Locale
from kabuguard.parsing import RequestBody
from kabuguard.risk.codes import Action, FactorClass
from kabuguard.risk.events import Factor

DeviceId = Annotated[
    str, StringConstraints(min_length=8, max_length=256, pattern=r"^[\x21-\x7e]+$")
]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Token = Annotated[str, StringConstraints(min_length=10, max_length=200)]


class _In(RequestBody):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Client(_In):
    """The end customer's device and network as the broker saw them."""

    device_id: DeviceId = Field(description="A stable id of the customer's device (cookie, app).")
    ip: Annotated[str, StringConstraints(max_length=64)] | None = None
    user_agent: Annotated[str, StringConstraints(max_length=1024)] | None = None

    def origin(self) -> Origin:
        return Origin(self.device_id, self.ip, self.user_agent)


class CustomerIn(_In):
    customer_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    username: Annotated[str, StringConstraints(min_length=3, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    display_name: Annotated[str, StringConstraints(max_length=100)] = ""
    locale: Locale = Locale.JA
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    client: Client


class PasswordIn(_In):
    username: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    client: Client


class LoginTokenIn(_In):
    login_token: Token
    client: Client


class CodeIn(_In):
    login_token: Token
    factor: Factor
    code: Code
    client: Client


class PasskeyOptionsIn(_In):
    login_token: Token | None = None
    client: Client


class AssertionIn(_In):
    challenge_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    credential: dict[str, Any] = Field(description="PublicKeyCredential.toJSON() of the browser.")
    client: Client


class RegistrationIn(_In):
    challenge_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    credential: dict[str, Any]
    name: Annotated[str, StringConstraints(max_length=100)] = "passkey"


class TotpConfirmIn(_In):
    code: Code


class LockIn(_In):
    scope: LockScope = LockScope.LOGIN


class SigningIn(_In):
    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    action: Action
    details: dict[str, Any] = Field(description="The action's fields exactly as they will be sent.")


class SigningSubmitIn(_In):
    event: dict[str, Any] = Field(description="The withdrawal / payout / contact change event.")


class PendingOut(BaseModel):
    login_token: str
    required_factor: FactorClass
    factors: list[Factor]
    enrol_only: bool
    expires_at: datetime


class SessionOut(BaseModel):
    id: int
    customer_id: str
    factor: str
    factor_class: str
    scope: str
    event_session_id: str | None = Field(
        description="Send as `session_id` on this session's events (orders, withdrawals, "
        "changes), so the engine applies its login's risk to them: a risky login's session is "
        "sell-only. Null only for sessions begun before kabuguard recorded it."
    )
    device_id: str
    ip: str | None
    network: str | None
    authenticated_at: datetime
    last_seen_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, info: SessionInfo) -> SessionOut:
        return cls(
            id=info.id,
            customer_id=info.customer_id,
            factor=info.factor,
            factor_class=info.factor_class,
            scope=info.scope.value,
            event_session_id=info.event_session_id,
            device_id=info.device_id,
            ip=info.ip,
            network=info.network,
            authenticated_at=info.authenticated_at,
            last_seen_at=info.last_seen_at,
            expires_at=info.expires_at,
        )


class LoggedInOut(BaseModel):
    session_token: str = Field(description="Send as X-Kabuguard-Session with X-Kabuguard-Device.")
    session: SessionOut

    @classmethod
    def of(cls, issued: IssuedSession) -> LoggedInOut:
        return cls(session_token=issued.token, session=SessionOut.of(issued.session))


class CustomerOut(BaseModel):
    customer_id: str
    username: str
    enrolment: LoggedInOut = Field(description="A session that may only register a passkey.")


class OptionsOut(BaseModel):
    challenge_id: str
    public_key: dict[str, Any] = Field(description="Pass to navigator.credentials.*({publicKey}).")

    @classmethod
    def of(cls, issued: Issued) -> OptionsOut:
        return cls(challenge_id=issued.challenge_id, public_key=issued.options)


class PasskeyOut(BaseModel):
    credential_id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, view: PasskeyView) -> PasskeyOut:
        return cls(
            credential_id=view.credential_id,
            name=view.name,
            created_at=view.created_at,
            last_used_at=view.last_used_at,
        )


class TotpOut(BaseModel):
    secret: str
    uri: str
    qr_svg: str


class SigningOut(BaseModel):
    id: str
    customer_id: str
    action: Action
    details: dict[str, str]
    status: str
    url: str
    expires_at: datetime
    approved_at: datetime | None
    event_id: str | None
    outcome: str | None

    @classmethod
    def of(cls, request: SigningRequest, base_url: str) -> SigningOut:
        return cls(
            id=request.id,
            customer_id=request.customer_id,
            action=request.action,
            details=request.details,
            status=request.status.value,
            url=f"{base_url.rstrip('/')}/auth/sign/{request.id}",
            expires_at=request.expires_at,
            approved_at=request.approved_at,
            event_id=request.event_id,
            outcome=request.outcome,
        )


class StepUpOut(BaseModel):
    action: Action
    required_factor: FactorClass
    satisfied: bool = Field(description="False: ask for a passkey (or sign the action) first.")
    session: SessionOut


class PolicyOut(BaseModel):
    version: str
    required_factor: dict[Action, FactorClass]
    transition_until: str | None
    in_transition: bool
