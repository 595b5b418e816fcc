"""The auth JSON API for brokers with their own UI: the hosted pages' operations, over HTTPS.

Every call needs the broker's API key (events:write, or customers:read to read). Calls made
for a logged-in customer also carry the customer's session: X-Kabuguard-Session and
X-Kabuguard-Device (the session is bound to that device id).
"""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Header, Path, Request

from kabuguard.apikeys.dependencies import authorize
from kabuguard.apikeys.interfaces import Scope
from kabuguard.auth.accounts import NewAccount
from kabuguard.auth.interfaces import InvalidInput
from kabuguard.auth.models import CREDENTIAL_ID_CHARS
from kabuguard.auth.schemas import (
    AssertionIn,
    CodeIn,
    CustomerIn,
    CustomerOut,
    LockIn,
    LoggedInOut,
    LoginTokenIn,
    OptionsOut,
    PasskeyOptionsIn,
    PasskeyOut,
    PasswordIn,
    PendingOut,
    PolicyOut,
    RegistrationIn,
    SessionOut,
    SigningIn,
    SigningOut,
    SigningSubmitIn,
    StepUpOut,
    TotpConfirmIn,
    TotpOut,
)
from kabuguard.auth.service import AuthService
from kabuguard.auth.sessions import Origin, SessionInfo
from kabuguard.auth.signing import certainly_unstored, signed
from kabuguard.auth.steps import Context
from kabuguard.decisions.schemas import ErrorOut
from kabuguard.parsing import WITHOUT_NUL
from kabuguard.risk.codes import Action
from kabuguard.risk.events import EVENT_ADAPTER, Channel

router = APIRouter(prefix="/v1/auth", tags=["authentication"])
signing_router = APIRouter(prefix="/v1/signing", tags=["transaction signing"])
_ERRORS: dict[int | str, dict[str, object]] = {
    s: {"model": ErrorOut} for s in (400, 401, 403, 404, 409, 422, 429)
}
SessionToken = Annotated[str | None, Header(alias="X-Kabuguard-Session", max_length=200)]
DeviceHeader = Annotated[str | None, Header(alias="X-Kabuguard-Device", max_length=256)]
RequestId = Annotated[str, Path(min_length=1, max_length=64, pattern=WITHOUT_NUL)]
# Session ids are BIGINT: a larger one is a 422, not a driver overflow (500 on SQLite).
SessionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
CredentialId = Annotated[
    str, Path(min_length=1, max_length=CREDENTIAL_ID_CHARS, pattern=WITHOUT_NUL)
]


def _auth(request: Request) -> AuthService:
    service: AuthService = request.app.state.auth
    return service


async def _ctx(request: Request, origin: Origin, scope: Scope = Scope.EVENTS_WRITE) -> Context:
    key = await authorize(request, scope)
    return _auth(request).context(origin, Channel.API, f"apikey:{key.name}")


async def _session(
    request: Request, token: str | None, device: str | None, *, full: bool = True
) -> tuple[Context, SessionInfo]:
    key = await authorize(request, Scope.EVENTS_WRITE)
    service = _auth(request)
    info = await to_thread.run_sync(lambda: service.session(token, device, full=full))
    origin = Origin(info.device_id, info.ip, info.user_agent)
    return service.context(origin, Channel.API, f"apikey:{key.name}"), info


@router.get("/policy", response_model=PolicyOut, responses=_ERRORS)
async def policy(request: Request) -> PolicyOut:
    await authorize(request, Scope.CUSTOMERS_READ)
    service = _auth(request)
    until = service.policy.transition_until
    return PolicyOut(
        version=service.policy.version,
        required_factor=dict(service.policy.required),
        transition_until=until.isoformat() if until else None,
        in_transition=service.policy.in_transition(service.clock()),
    )


@router.post("/customers", status_code=201, response_model=CustomerOut, responses=_ERRORS)
async def create_customer(request: Request, body: CustomerIn) -> CustomerOut:
    ctx = await _ctx(request, body.client.origin())
    new = NewAccount(
        body.username, body.password, body.display_name, body.locale, body.customer_id, body.email
    )
    account, issued = await _auth(request).create_customer(ctx, new)
    return CustomerOut(
        customer_id=account.customer_id, username=account.username, enrolment=LoggedInOut.of(issued)
    )


@router.post("/login/password", response_model=PendingOut, responses=_ERRORS)
async def login_password(request: Request, body: PasswordIn) -> PendingOut:
    ctx = await _ctx(request, body.client.origin())
    pending = await _auth(request).flow.password(ctx, body.username, body.password)
    return PendingOut(
        login_token=pending.token,
        required_factor=pending.required,
        factors=list(pending.factors),
        enrol_only=pending.enrol_only,
        expires_at=pending.expires_at,
    )


@router.post("/login/email-code", responses=_ERRORS)
async def send_email_code(request: Request, body: LoginTokenIn) -> dict[str, str]:
    ctx = await _ctx(request, body.client.origin())
    expires = await _auth(request).flow.send_email_code(ctx, body.login_token)
    return {"status": "sent", "expires_at": expires.isoformat()}


@router.post("/login/code", response_model=LoggedInOut, responses=_ERRORS)
async def login_code(request: Request, body: CodeIn) -> LoggedInOut:
    service = _auth(request)
    ctx = await _ctx(request, body.client.origin())
    logged_in = await service.audited(
        ctx,
        f"login_{body.factor.value}",
        lambda: service.flow.code(ctx, body.login_token, body.factor, body.code),
    )
    return LoggedInOut.of(logged_in.issued)


@router.post("/passkeys/login/options", response_model=OptionsOut, responses=_ERRORS)
async def passkey_login_options(request: Request, body: PasskeyOptionsIn) -> OptionsOut:
    ctx = await _ctx(request, body.client.origin())
    service = _auth(request)
    issued = await to_thread.run_sync(service.flow.passkey_options, ctx, body.login_token)
    return OptionsOut.of(issued)


@router.post("/passkeys/login", response_model=LoggedInOut, responses=_ERRORS)
async def passkey_login(request: Request, body: AssertionIn) -> LoggedInOut:
    service = _auth(request)
    ctx = await _ctx(request, body.client.origin())
    logged_in = await service.audited(
        ctx, "login_passkey", lambda: service.flow.passkey(ctx, body.challenge_id, body.credential)
    )
    return LoggedInOut.of(logged_in.issued)


@router.post("/passkeys/registration/options", response_model=OptionsOut, responses=_ERRORS)
async def registration_options(
    request: Request, token: SessionToken = None, device: DeviceHeader = None
) -> OptionsOut:
    ctx, info = await _session(request, token, device, full=False)
    service = _auth(request)
    issued = await to_thread.run_sync(service.passkeys.registration, info.customer_id, ctx.now)
    return OptionsOut.of(issued)


@router.post(
    "/passkeys/registration", status_code=201, response_model=PasskeyOut, responses=_ERRORS
)
async def register_passkey(
    request: Request,
    body: RegistrationIn,
    token: SessionToken = None,
    device: DeviceHeader = None,
) -> PasskeyOut:
    ctx, info = await _session(request, token, device, full=False)
    view = await _auth(request).register_passkey(
        ctx, info, body.challenge_id, body.credential, body.name
    )
    return PasskeyOut.of(view)


@router.get("/session", response_model=SessionOut, responses=_ERRORS)
async def current_session(
    request: Request, token: SessionToken = None, device: DeviceHeader = None
) -> SessionOut:
    _, info = await _session(request, token, device, full=False)
    return SessionOut.of(info)


@router.get("/session/step-up", response_model=StepUpOut, responses=_ERRORS)
async def step_up(
    request: Request, action: Action, token: SessionToken = None, device: DeviceHeader = None
) -> StepUpOut:
    """Whether this session's factor already satisfies the policy for `action`."""
    _, info = await _session(request, token, device)
    needed, satisfied = _auth(request).step_up(info, action)
    return StepUpOut(
        action=action, required_factor=needed, satisfied=satisfied, session=SessionOut.of(info)
    )


@router.delete("/passkeys/{credential_id}", responses=_ERRORS)
async def remove_passkey(
    request: Request,
    credential_id: CredentialId,
    token: SessionToken = None,
    device: DeviceHeader = None,
) -> dict[str, str]:
    ctx, info = await _session(request, token, device)
    await _auth(request).remove_passkey(ctx, info, credential_id)
    return {"status": "removed"}


@router.get("/sessions", response_model=list[SessionOut], responses=_ERRORS)
async def list_sessions(
    request: Request, token: SessionToken = None, device: DeviceHeader = None
) -> list[SessionOut]:
    ctx, info = await _session(request, token, device)
    sessions = await to_thread.run_sync(_auth(request).sessions.list, info.customer_id, ctx.now)
    return [SessionOut.of(s) for s in sessions]


@router.post("/sessions/{session_id}/revoke", responses=_ERRORS)
async def revoke_session(
    request: Request, session_id: SessionId, token: SessionToken = None, device: DeviceHeader = None
) -> dict[str, int]:
    ctx, info = await _session(request, token, device)
    return {"revoked": await _auth(request).revoke(ctx, info, session_id)}


@router.post("/sessions/revoke-all", responses=_ERRORS)
async def revoke_all(
    request: Request, token: SessionToken = None, device: DeviceHeader = None
) -> dict[str, int]:
    ctx, info = await _session(request, token, device)
    return {"revoked": await _auth(request).revoke(ctx, info, None)}


@router.post("/totp", response_model=TotpOut, responses=_ERRORS)
async def begin_totp(
    request: Request, token: SessionToken = None, device: DeviceHeader = None
) -> TotpOut:
    _, info = await _session(request, token, device)
    enrolment = await _auth(request).begin_totp(info)
    return TotpOut(secret=enrolment.secret, uri=enrolment.uri, qr_svg=enrolment.qr_svg)


@router.post("/totp/confirm", responses=_ERRORS)
async def confirm_totp(
    request: Request,
    body: TotpConfirmIn,
    token: SessionToken = None,
    device: DeviceHeader = None,
) -> dict[str, str]:
    ctx, info = await _session(request, token, device)
    await _auth(request).confirm_totp(ctx, info, body.code)
    return {"status": "enrolled"}


@router.post("/recovery-codes", responses=_ERRORS)
async def recovery_codes(
    request: Request, token: SessionToken = None, device: DeviceHeader = None
) -> dict[str, list[str]]:
    ctx, info = await _session(request, token, device)
    return {"codes": await _auth(request).new_recovery_codes(ctx, info)}


@router.post("/lock", responses=_ERRORS)
async def lock(
    request: Request, body: LockIn, token: SessionToken = None, device: DeviceHeader = None
) -> dict[str, str]:
    ctx, info = await _session(request, token, device)
    await _auth(request).selflock.lock(ctx, info.customer_id, body.scope)
    return {"status": "locked", "scope": body.scope.value}


@router.post("/unlock/options", response_model=OptionsOut, responses=_ERRORS)
async def unlock_options(request: Request, body: PasskeyOptionsIn) -> OptionsOut:
    ctx = await _ctx(request, body.client.origin())
    issued = await to_thread.run_sync(_auth(request).selflock.unlock_options, ctx)
    return OptionsOut.of(issued)


@router.post("/unlock", responses=_ERRORS)
async def unlock(request: Request, body: AssertionIn) -> dict[str, str]:
    service = _auth(request)
    ctx = await _ctx(request, body.client.origin())
    customer = await service.audited(
        ctx,
        "unlock_passkey",
        lambda: service.selflock.unlock(ctx, body.challenge_id, body.credential),
    )
    return {"status": "unlocked", "customer_id": customer}


@signing_router.post("/requests", status_code=201, response_model=SigningOut, responses=_ERRORS)
async def create_signing(request: Request, body: SigningIn) -> SigningOut:
    key = await authorize(request, Scope.EVENTS_WRITE)
    service = _auth(request)
    created = await to_thread.run_sync(
        lambda: service.signing.create(
            body.customer_id,
            body.action,
            body.details,
            actor=f"apikey:{key.name}",
            now=service.clock(),
        )
    )
    return SigningOut.of(created, service.settings.public_base_url)


@signing_router.get("/requests/{request_id}", response_model=SigningOut, responses=_ERRORS)
async def get_signing(request: Request, request_id: RequestId) -> SigningOut:
    await authorize(request, Scope.CUSTOMERS_READ)
    service = _auth(request)
    found = await to_thread.run_sync(service.signing.get, request_id)
    return SigningOut.of(found, service.settings.public_base_url)


@signing_router.post("/requests/{request_id}/options", response_model=OptionsOut, responses=_ERRORS)
async def signing_options(request: Request, request_id: RequestId) -> OptionsOut:
    await authorize(request, Scope.EVENTS_WRITE)
    service = _auth(request)
    issued = await to_thread.run_sync(service.signing.options, request_id, service.clock())
    return OptionsOut.of(issued)


@signing_router.post("/requests/{request_id}/approve", response_model=SigningOut, responses=_ERRORS)
async def approve_signing(request: Request, request_id: RequestId, body: AssertionIn) -> SigningOut:
    service = _auth(request)
    ctx = await _ctx(request, body.client.origin())
    approved = await service.audited(
        ctx,
        "signing_approval",
        lambda: to_thread.run_sync(
            lambda: service.signing.approve(
                request_id, body.challenge_id, body.credential, actor=ctx.actor, now=ctx.now
            )
        ),
    )
    return SigningOut.of(approved, service.settings.public_base_url)


@signing_router.post("/requests/{request_id}/submit", responses=_ERRORS)
async def submit_signed(
    request: Request, request_id: RequestId, body: SigningSubmitIn
) -> dict[str, object]:
    """Submit the approved action's event: decided only if its details match the approval."""
    key = await authorize(request, Scope.EVENTS_WRITE)
    service = _auth(request)
    try:
        event = EVENT_ADAPTER.validate_python(body.event)
    except ValueError as error:
        raise InvalidInput(f"event: {error}", field="event") from None
    now = service.clock()
    spent = await to_thread.run_sync(lambda: service.signing.spend(request_id, event, now=now))
    event = signed(event)
    try:
        verdict = await service.steps.committer.submit(event, f"apikey:{key.name}")
    except BaseException as error:
        # Maybe stored (503, cancelled): only a retry of this event may use the approval. Its
        # event_id taken by another event: nothing was stored, the approval is free again.
        bound = None if certainly_unstored(error) else event.event_id
        await to_thread.run_sync(service.signing.release, spent, bound)
        raise
    recorded = await to_thread.run_sync(
        lambda: service.signing.record_outcome(
            spent, event, verdict.decision["outcome"], actor=f"apikey:{key.name}", now=now
        )
    )
    return {
        "decision": verdict.decision,
        "signing": SigningOut.of(recorded, service.settings.public_base_url).model_dump(
            mode="json"
        ),
    }
