"""AuthService: the auth parts built from Settings, shared by the JSON API and the pages.

Both doors call these methods, so a broker's own UI gets exactly what the hosted pages get.
Rejected WebAuthn responses and codes are written to the audit chain here, in one place.

A credential change is asked of the engine before it is stored, as a broker asks before acting
(AUTH-8): its event carries the session's engine id, so a change in a risky login's session is
judged as one, and anything but `allow` leaves the credentials as they were — except a
challenge the session's own factor already answers (a passkey session challenged for a passkey).
A change refused because the login was risky is paused until the engine's session period is
over (`session_hours` of the risk policy), and the answer says so. The change is stored only if
the session is still valid inside the storing transaction: a lock may land while the engine is
asked.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from anyio import to_thread

from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind
from kabuguard.auth.accounts import Account, Accounts, NewAccount
from kabuguard.auth.factors import EmailCodes, RecoveryCodes, Totp, TotpEnrolment
from kabuguard.auth.interfaces import (
    AuthError,
    ChangeRefused,
    CodeSender,
    FactorNotAllowed,
    InvalidCode,
    PasskeyRejected,
    SessionRequired,
    SessionScope,
    StepExpired,
)
from kabuguard.auth.lockout import Lockout, LockoutPolicy, Path, SourceLimits, SourceThrottle
from kabuguard.auth.locks import SelfLock
from kabuguard.auth.login import LoginFlow, Parts
from kabuguard.auth.models import Guard
from kabuguard.auth.notify import OutboxNotices
from kabuguard.auth.passkeys import Passkeys, PasskeyView
from kabuguard.auth.policy import AuthPolicy, satisfies
from kabuguard.auth.sessions import Issued, Origin, SessionInfo, Sessions
from kabuguard.auth.signing import Signing
from kabuguard.auth.steps import Context, StepRecorder, Verdict
from kabuguard.auth.webauthn import RelyingParty
from kabuguard.config import Environment, Settings
from kabuguard.db import Database
from kabuguard.decisions.writer import Committer
from kabuguard.notifications.crypto import FieldCipher
from kabuguard.risk.codes import Action, FactorClass, Outcome, ReasonCode
from kabuguard.risk.events import Channel, CredentialAction, CredentialKind, Factor

T = TypeVar("T")
Clock = Callable[[], datetime]
ONBOARDING = "onboarding"


def check_cookie_setting(settings: Settings, rp: RelyingParty) -> None:
    """Cookies without Secure only for http://localhost development (never in production)."""
    if settings.auth_cookie_secure:
        return
    local = all(o.startswith(("http://localhost", "http://127.0.0.1")) for o in rp.origins)
    if settings.environment is Environment.PRODUCTION or not local:
        raise ValueError(
            "KABUGUARD_AUTH_COOKIE_SECURE=false is allowed only for http://localhost development"
        )


@dataclass
class AuthService:
    settings: Settings
    database: Database
    clock: Clock
    rp: RelyingParty
    policy: AuthPolicy
    accounts: Accounts
    sessions: Sessions
    passkeys: Passkeys
    totp: Totp
    recovery: RecoveryCodes
    steps: StepRecorder
    flow: LoginFlow
    selflock: SelfLock
    signing: Signing
    # The risk policy's session_hours: how long a risky login's sell-only session lasts, so how
    # long a credential change from it stays paused.
    session_hours: int

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        database: Database,
        clock: Clock,
        cipher: FieldCipher,
        committer: Committer,
        notices: OutboxNotices,
        session_hours: int,
        sender: CodeSender | None = None,
    ) -> AuthService:
        rp = RelyingParty.from_settings(settings)
        check_cookie_setting(settings, rp)
        policy = (
            AuthPolicy.from_file(settings.auth_policy_file)
            if settings.auth_policy_file
            else AuthPolicy.default()
        )
        ttl = timedelta(seconds=settings.auth_step_ttl_seconds)
        base, cap = settings.auth_lock_base_seconds, settings.auth_lock_max_seconds
        lockout = Lockout(
            database,
            {
                Path.PASSWORD: LockoutPolicy(
                    settings.auth_password_max_failures,
                    timedelta(seconds=base),
                    timedelta(seconds=cap),
                ),
                Path.FACTOR: LockoutPolicy(
                    settings.auth_second_factor_max_failures,
                    timedelta(seconds=base),
                    timedelta(seconds=cap),
                ),
            },
        )
        throttle = SourceThrottle(
            database,
            SourceLimits(
                settings.auth_ip_max_failures,
                settings.auth_network_max_failures,
                timedelta(seconds=settings.auth_throttle_window_seconds),
            ),
        )
        accounts = Accounts(database, cipher)
        sessions = Sessions(
            database,
            idle=timedelta(minutes=settings.auth_session_idle_minutes),
            absolute=timedelta(hours=settings.auth_session_max_hours),
        )
        passkeys = Passkeys(database, rp, ttl)
        totp = Totp(database, cipher, settings.broker_name)
        recovery = RecoveryCodes(database)
        email = EmailCodes(
            database,
            cipher,
            sender or notices,
            ttl=ttl,
            max_attempts=settings.auth_email_code_max_attempts,
        )
        steps = StepRecorder(committer)
        flow = LoginFlow(
            Parts(
                database,
                accounts,
                lockout,
                throttle,
                sessions,
                passkeys,
                totp,
                email,
                recovery,
                steps,
                policy,
                notices,
                ttl,
            )
        )
        return cls(
            settings,
            database,
            clock,
            rp,
            policy,
            accounts,
            sessions,
            passkeys,
            totp,
            recovery,
            steps,
            flow,
            SelfLock(database, accounts, sessions, passkeys, steps),
            Signing(database, passkeys, timedelta(seconds=settings.auth_signing_ttl_seconds)),
            session_hours,
        )

    def context(self, origin: Origin, channel: Channel, actor: str) -> Context:
        return Context(origin, channel, actor, self.clock())

    async def audited(self, ctx: Context, what: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run a step; a rejected passkey or code, or an expired step, is also audited."""
        try:
            return await work()
        except (PasskeyRejected, InvalidCode, StepExpired) as error:
            await to_thread.run_sync(self._audit_rejection, ctx, what, error)
            raise

    def _audit_rejection(self, ctx: Context, what: str, error: AuthError) -> None:
        payload = {
            "step": what,
            "code": error.code,
            "problem": error.message[:300],
            "ip": ctx.origin.ip,
            "device_id": ctx.origin.device_id[:64],
        }
        with self.database.write() as session:
            audit.append(
                session,
                kind=AuditKind.AUTH_STEP_REJECTED,
                actor=ctx.actor,
                subject=what,
                payload=payload,
                at=ctx.now,
            )

    # -- onboarding and sessions ------------------------------------------------------------

    async def create_customer(self, ctx: Context, new: NewAccount) -> tuple[Account, Issued]:
        """Create the account and an onboarding session that may only enrol a passkey."""
        account = await to_thread.run_sync(
            lambda: self.accounts.create(new, actor=ctx.actor, now=ctx.now)
        )
        issued = await to_thread.run_sync(
            lambda: self.sessions.issue(
                account.customer_id,
                ctx.origin,
                factor=ONBOARDING,
                factor_class="none",
                scope=SessionScope.ENROL,
                event_session=f"onboarding-{secrets.token_hex(12)}",
                now=ctx.now,
            )
        )
        return account, issued

    def session(
        self, token: str | None, device_id: str | None, *, full: bool = True
    ) -> SessionInfo:
        info = self.sessions.current(token, device_id, self.clock())
        if full and info.scope is not SessionScope.FULL:
            raise SessionRequired("register a passkey first; this session may only do that")
        return info

    # -- enrolment (credential_change events) ----------------------------------------------

    async def register_passkey(
        self, ctx: Context, info: SessionInfo, challenge_id: str, credential: Any, name: str
    ) -> PasskeyView:
        if info.scope is SessionScope.FULL:
            self.check_credential_change(info)
        new = await self.audited(
            ctx,
            "passkey_registration",
            lambda: to_thread.run_sync(
                self.passkeys.verify_new, info.customer_id, challenge_id, credential, ctx.now
            ),
        )
        await self._allowed(ctx, info, CredentialKind.PASSKEY, CredentialAction.ADDED)
        view = await to_thread.run_sync(
            lambda: self.passkeys.add(
                info.customer_id, new, name, ctx.now, guard=self._still_valid(info)
            )
        )
        if info.scope is SessionScope.ENROL:  # the enrolment session has done its one job
            await to_thread.run_sync(
                self.sessions.revoke, info.customer_id, info.id, "passkey_enrolled", ctx.now
            )
        return view

    async def _allowed(
        self, ctx: Context, info: SessionInfo, kind: CredentialKind, action: CredentialAction
    ) -> None:
        """The engine's answer to a change about to be made: anything but allow refuses it,
        unless it is a challenge the session's own factor already meets."""
        verdict = await self.steps.credential(
            ctx, info.customer_id, kind, action, session_id=info.event_session_id
        )
        if verdict.outcome is Outcome.ALLOW or _met_by_session(verdict, info):
            return
        outcome = verdict.outcome.value
        why = ", ".join(verdict.reasons) or outcome
        paused = ReasonCode.SESSION_LOGIN_RISKY in verdict.reasons
        if verdict.outcome is Outcome.CHALLENGE and paused:
            # The login was risky (a new device or network): its session stays sell-only for
            # session_hours. No passkey is suggested: an enrolment session has none to use.
            raise ChangeRefused(
                "for your protection, adding or changing a sign-in method from a new device or "
                f"network is paused ({outcome}: {why}); try again from this device after "
                f"{self.session_hours} hours, or contact support",
                wait_hours=self.session_hours,
            )
        raise ChangeRefused(
            f"for your safety this change was not made ({outcome}: {why}); "
            "log in again with your passkey and retry, or call us"
        )

    def _still_valid(self, info: SessionInfo) -> Guard:
        """Checked inside the transaction that stores the change (see Sessions.confirm_live)."""
        return lambda session: self.sessions.confirm_live(session, info, self.clock())

    def check_credential_change(self, info: SessionInfo) -> None:
        """Changing how one logs in needs the policy's factor class on the session (AUTH-4)."""
        needed = self.policy.needed(Action.CREDENTIAL_CHANGE, self.clock(), None)
        if needed is FactorClass.PHISHING_RESISTANT and info.factor_class != needed.value:
            raise FactorNotAllowed(
                "changing how you log in needs a session started with a passkey; "
                "log in with your passkey first"
            )

    def step_up(self, info: SessionInfo, action: Action) -> tuple[FactorClass, bool]:
        """The class `action` needs now, and whether this session's factor already has it."""
        needed = self.policy.needed(action, self.clock(), None)
        strong = info.factor_class == FactorClass.PHISHING_RESISTANT.value
        return needed, strong or (needed is FactorClass.ANY_MFA and info.scope is SessionScope.FULL)

    async def remove_passkey(self, ctx: Context, info: SessionInfo, credential_id: str) -> None:
        self.check_credential_change(info)
        await to_thread.run_sync(self.passkeys.check_removable, info.customer_id, credential_id)
        await self._allowed(ctx, info, CredentialKind.PASSKEY, CredentialAction.REMOVED)
        await to_thread.run_sync(
            lambda: self.passkeys.remove(
                info.customer_id, credential_id, guard=self._still_valid(info)
            )
        )

    async def begin_totp(self, info: SessionInfo) -> TotpEnrolment:
        self.check_credential_change(info)
        return await to_thread.run_sync(self.totp.begin, info.customer_id)

    async def confirm_totp(self, ctx: Context, info: SessionInfo, code: str) -> None:
        self.check_credential_change(info)
        confirmed = await self.audited(
            ctx,
            "totp_enrolment",
            lambda: to_thread.run_sync(self.totp.check, info.customer_id, code, ctx.now),
        )
        await self._allowed(ctx, info, CredentialKind.TOTP, CredentialAction.ADDED)
        await to_thread.run_sync(
            lambda: self.totp.store(info.customer_id, confirmed, guard=self._still_valid(info))
        )

    async def new_recovery_codes(self, ctx: Context, info: SessionInfo) -> list[str]:
        self.check_credential_change(info)
        await self._allowed(ctx, info, CredentialKind.RECOVERY_CODES, CredentialAction.RESET)
        return await to_thread.run_sync(
            lambda: self.recovery.replace(info.customer_id, ctx.now, guard=self._still_valid(info))
        )

    async def revoke(self, ctx: Context, info: SessionInfo, session_id: int | None) -> int:
        """Revoke one session, or every session of the customer (None)."""
        if session_id is None:
            count = await to_thread.run_sync(
                self.sessions.revoke_all, info.customer_id, "customer_revoked_all", ctx.now
            )
        else:
            await to_thread.run_sync(
                self.sessions.revoke, info.customer_id, session_id, "customer_revoked", ctx.now
            )
            count = 1
        await to_thread.run_sync(self._audit_revocation, ctx, info.customer_id, session_id, count)
        return count

    def _audit_revocation(
        self, ctx: Context, customer_id: str, session_id: int | None, count: int
    ) -> None:
        with self.database.write() as session:
            audit.append(
                session,
                kind=AuditKind.AUTH_SESSION_REVOKED,
                actor=ctx.actor,
                subject=customer_id,
                payload={"session": session_id, "all": session_id is None, "count": count},
                at=ctx.now,
            )


def _met_by_session(verdict: Verdict, info: SessionInfo) -> bool:
    """A challenge whose required factor class the session's own factor already satisfies:
    a passkey session asked for a passkey has given one. A code session asked for a passkey,
    or an onboarding session (no factor), has not."""
    if verdict.outcome is not Outcome.CHALLENGE or verdict.required is None:
        return False
    try:
        factor = Factor(info.factor)
    except ValueError:  # "onboarding": no factor was presented
        return False
    return satisfies(factor, verdict.required)
