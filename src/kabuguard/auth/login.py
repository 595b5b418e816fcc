"""The login flow: password, then a second factor; or a passkey alone. Engine decides each step.

Order at the password step (warehouse's check_password): per-source limits first, then the
account's slot is counted, then argon2 verifies (against a dummy hash for unknown users),
then the step goes through the decision engine. The answer to the caller is the same for an
unknown user, a wrong password and a paused password path.

Every step of one login carries the same engine session id (`Pending.event_session`), and the
session it opens keeps it: the engine remembers the password step's risk under that id, so
the second step is judged against it (`login:relay:factor_network`) and so is every later
event the broker tags with it (a risky login's session is sell-only).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from anyio import to_thread
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from kabuguard.auth.accounts import Account, Accounts
from kabuguard.auth.factors import EmailCodes, RecoveryCodes, Totp
from kabuguard.auth.interfaces import (
    FactorNotAllowed,
    InvalidCode,
    InvalidCredentials,
    LoginRefused,
    PasskeyRejected,
    Purpose,
    SessionScope,
    StepExpired,
    TooManyAttempts,
)
from kabuguard.auth.lockout import Lockout, Path, Slot, SourceThrottle
from kabuguard.auth.models import PendingLoginRow, changed
from kabuguard.auth.notify import OutboxNotices
from kabuguard.auth.passkeys import Issued, Passkeys
from kabuguard.auth.passwords import verify_password
from kabuguard.auth.policy import FACTOR_CLASS, AuthPolicy, satisfies
from kabuguard.auth.sessions import Issued as IssuedSession
from kabuguard.auth.sessions import Sessions
from kabuguard.auth.steps import Context, StepRecorder, Verdict
from kabuguard.db import Database
from kabuguard.notifications.contacts import load_profiles
from kabuguard.risk.codes import Action, FactorClass, Outcome
from kabuguard.risk.events import CredentialAction, CredentialKind, Factor, LoginStep

CODE_FACTORS = (Factor.TOTP, Factor.EMAIL_OTP, Factor.RECOVERY_CODE)


@dataclass(frozen=True, slots=True)
class Pending:
    """A login after its password step, awaiting the second factor."""

    id: str  # "" for a passwordless login, which has no pending row
    token: str
    customer_id: str
    required: FactorClass
    enrol_only: bool
    factors: tuple[Factor, ...]  # what this customer can use now
    expires_at: datetime
    event_session: str  # the session_id of this login's events and of the session it opens


def event_session(pending_id: str) -> str:
    """The engine session id of a pending login: its steps share it, whichever door they use."""
    return f"login-{pending_id[:24]}"


@dataclass(frozen=True, slots=True)
class LoggedIn:
    issued: IssuedSession
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class Parts:
    database: Database
    accounts: Accounts
    lockout: Lockout
    throttle: SourceThrottle
    sessions: Sessions
    passkeys: Passkeys
    totp: Totp
    email: EmailCodes
    recovery: RecoveryCodes
    steps: StepRecorder
    policy: AuthPolicy
    notices: OutboxNotices
    step_ttl: timedelta


class LoginFlow:
    def __init__(self, parts: Parts) -> None:
        self.p = parts

    async def password(self, ctx: Context, username: str, password: str) -> Pending:
        p = self.p
        if await to_thread.run_sync(p.throttle.exceeded, ctx.origin.ip, ctx.now):
            await p.steps.login(
                ctx,
                customer_id=None,
                username=username,
                step=LoginStep.PASSWORD,
                ok=False,
                factor=None,
                session_id=None,
            )
            raise TooManyAttempts("too many failed logins from your network; try again later")
        account = await to_thread.run_sync(p.accounts.by_username, username)
        slot = None
        if account is not None:
            slot = await to_thread.run_sync(
                p.lockout.take_slot, account.customer_id, Path.PASSWORD, ctx.now
            )
        counted = slot is not None and slot.allowed
        stored = account.password_hash if account is not None and counted else None
        ok, rehash = await to_thread.run_sync(verify_password, stored, password)
        await to_thread.run_sync(self._after_password, ctx, account, slot, ok, rehash)
        customer = account.customer_id if account else None
        # The pending login's id exists before the step is decided, so the engine files the
        # step's risk under the session id that the second step and the session will carry.
        token = secrets.token_urlsafe(32)
        verdict = await p.steps.login(
            ctx,
            customer_id=customer,
            username=username,
            step=LoginStep.PASSWORD,
            ok=ok,
            factor=None,
            session_id=event_session(_digest(token)) if ok and account else None,
        )
        if not ok or account is None:
            raise InvalidCredentials()
        _obey(verdict, account)
        return await to_thread.run_sync(self._pending, ctx, account, verdict, token)

    def _after_password(
        self,
        ctx: Context,
        account: Account | None,
        slot: Slot | None,
        ok: bool,
        rehash: str | None,
    ) -> None:
        p = self.p
        if account is not None and ok:
            p.lockout.succeeded(account.customer_id, Path.PASSWORD)
            if rehash is not None:
                p.accounts.store_rehash(account.customer_id, rehash)
            return
        p.throttle.count_failure(ctx.origin.ip, ctx.now)
        if account is None or slot is None:
            return
        until = slot.locked_until or (
            p.lockout.failed(account.customer_id, Path.PASSWORD, slot, ctx.now)
            if slot.allowed
            else None
        )
        if until is not None:
            p.notices.password_paused(
                account.customer_id, until=until, ip=ctx.origin.ip, now=ctx.now
            )

    def _pending(self, ctx: Context, account: Account, verdict: Verdict, token: str) -> Pending:
        p = self.p
        challenge = verdict.required if verdict.outcome is Outcome.CHALLENGE else None
        required = p.policy.needed(Action.LOGIN, ctx.now, challenge)
        has_passkey = p.passkeys.count(account.customer_id) > 0
        enrol_only = required is FactorClass.PHISHING_RESISTANT and not has_passkey
        row = PendingLoginRow(
            id=_digest(token),
            customer_id=account.customer_id,
            required=required.value,
            enrol_only=enrol_only,
            device_id=ctx.origin.device_id,
            ip=ctx.origin.ip,
            user_agent=ctx.origin.user_agent,
            created_at=ctx.now,
            expires_at=ctx.now + p.step_ttl,
        )
        with p.database.write() as session:
            session.execute(delete(PendingLoginRow).where(PendingLoginRow.expires_at <= ctx.now))
            session.add(row)
            has_email = _has_email(session, account.customer_id)
        factors = _usable(
            account, required, has_passkey=has_passkey, enrol_only=enrol_only, has_email=has_email
        )
        return Pending(
            row.id,
            token,
            account.customer_id,
            required,
            enrol_only,
            factors,
            row.expires_at,
            event_session(row.id),
        )

    def pending(self, token: str | None, ctx: Context) -> Pending:
        """The login a token continues, from the same device, while it is fresh."""
        if not token:
            raise StepExpired("please start the login again", field="login_token")
        with self.p.database.read() as session:
            row = session.get(PendingLoginRow, _digest(token))
            has_email = row is not None and _has_email(session, row.customer_id)
        if row is None or row.used_at is not None or row.expires_at <= ctx.now:
            raise StepExpired("this login has expired; please start again", field="login_token")
        if row.device_id != ctx.origin.device_id:
            raise StepExpired("this login was started on another device", field="login_token")
        account = self.p.accounts.get(row.customer_id)
        required = FactorClass(row.required)
        has_passkey = self.p.passkeys.count(row.customer_id) > 0
        factors = _usable(
            account,
            required,
            has_passkey=has_passkey,
            enrol_only=row.enrol_only,
            has_email=has_email,
        )
        return Pending(
            row.id,
            token,
            row.customer_id,
            required,
            row.enrol_only,
            factors,
            row.expires_at,
            event_session(row.id),
        )

    async def send_email_code(self, ctx: Context, token: str | None) -> datetime:
        pending = await to_thread.run_sync(self.pending, token, ctx)
        _allowed(pending, Factor.EMAIL_OTP)
        return await to_thread.run_sync(
            self.p.email.send, pending.id, pending.customer_id, ctx.now, ctx.origin.ip
        )

    async def code(self, ctx: Context, token: str | None, factor: Factor, code: str) -> LoggedIn:
        p = self.p
        pending = await to_thread.run_sync(self.pending, token, ctx)
        _allowed(pending, factor)
        customer = pending.customer_id
        slot = await to_thread.run_sync(p.lockout.take_slot, customer, Path.FACTOR, ctx.now)
        if slot is None or not slot.allowed:
            raise TooManyAttempts("too many wrong codes; wait a while or use a passkey")
        try:
            await to_thread.run_sync(self._check_code, pending, factor, code, ctx.now)
        except InvalidCode:
            await to_thread.run_sync(p.lockout.failed, customer, Path.FACTOR, slot, ctx.now)
            await p.steps.login(
                ctx,
                customer_id=customer,
                username=None,
                step=LoginStep.SECOND_FACTOR,
                ok=False,
                factor=factor,
                session_id=pending.event_session,
            )
            raise
        await to_thread.run_sync(p.lockout.succeeded, customer, Path.FACTOR)
        if factor is Factor.RECOVERY_CODE:
            await p.steps.credential(
                ctx,
                customer,
                CredentialKind.RECOVERY_CODES,
                CredentialAction.USED,
                session_id=pending.event_session,
            )
        return await self._finish(ctx, pending, factor, LoginStep.SECOND_FACTOR)

    def _check_code(self, pending: Pending, factor: Factor, code: str, now: datetime) -> None:
        if factor is Factor.TOTP:
            self.p.totp.verify(pending.customer_id, code, now)
        elif factor is Factor.EMAIL_OTP:
            self.p.email.verify(pending.id, code, now)
        else:
            self.p.recovery.use(pending.customer_id, code, now)

    def passkey_options(self, ctx: Context, token: str | None) -> Issued:
        """Options for passwordless login, or for the passkey as the second step of a login."""
        if token:
            pending = self.pending(token, ctx)
            return self.p.passkeys.assertion(
                Purpose.LOGIN, ctx.now, customer_id=pending.customer_id, subject=pending.id
            )
        return self.p.passkeys.assertion(Purpose.LOGIN, ctx.now)

    async def passkey(self, ctx: Context, challenge_id: str, credential: Any) -> LoggedIn:
        try:
            asserted = await to_thread.run_sync(
                self.p.passkeys.verify, challenge_id, Purpose.LOGIN, credential, ctx.now
            )
        except PasskeyRejected as error:
            if error.customer_id is not None:  # e.g. a relay's wrong origin: on the timeline
                await self.p.steps.login(
                    ctx,
                    customer_id=error.customer_id,
                    username=None,
                    step=LoginStep.PASSKEY,
                    ok=False,
                    factor=Factor.PASSKEY,
                    session_id=None,
                )
            raise
        if asserted.subject is None:
            pending = Pending(
                "",
                "",
                asserted.customer_id,
                FactorClass.PHISHING_RESISTANT,
                False,
                (Factor.PASSKEY,),
                ctx.now,
                event_session(secrets.token_hex(12)),  # a passwordless login is one step
            )
            return await self._finish(ctx, pending, Factor.PASSKEY, LoginStep.PASSKEY)
        with self.p.database.read() as session:
            row = session.get(PendingLoginRow, asserted.subject)
        if row is None or row.customer_id != asserted.customer_id:
            raise StepExpired("this login has expired; please start again")
        pending = Pending(
            row.id,
            "",
            row.customer_id,
            FactorClass(row.required),
            row.enrol_only,
            (Factor.PASSKEY,),
            row.expires_at,
            event_session(row.id),
        )
        return await self._finish(ctx, pending, Factor.PASSKEY, LoginStep.SECOND_FACTOR)

    async def _finish(
        self, ctx: Context, pending: Pending, factor: Factor, step: LoginStep
    ) -> LoggedIn:
        p = self.p
        account = await to_thread.run_sync(p.accounts.get, pending.customer_id)
        verdict = await p.steps.login(
            ctx,
            customer_id=account.customer_id,
            username=None,
            step=step,
            ok=True,
            factor=factor,
            session_id=pending.event_session,
        )
        _obey(verdict, account)
        strong = factor is Factor.PASSKEY
        needed = FactorClass.PHISHING_RESISTANT if _wants_passkey(verdict) else pending.required
        # Without a passkey yet, or with a recovery code for a lost one, a weaker factor opens
        # an enrolment session; a risk challenge for a passkey leaves no such way round.
        enrol = not strong and (pending.enrol_only or factor is Factor.RECOVERY_CODE)
        if not satisfies(factor, needed) and (_wants_passkey(verdict) or not enrol):
            await to_thread.run_sync(self._raise_required, pending, needed)
            raise FactorNotAllowed("this login needs a passkey", field="factor")
        if pending.id and not await to_thread.run_sync(self._use, pending.id, ctx.now):
            raise StepExpired("this login was already completed; please start again")
        scope = SessionScope.FULL if satisfies(factor, needed) else SessionScope.ENROL
        issued = await to_thread.run_sync(
            lambda: p.sessions.issue(
                account.customer_id,
                ctx.origin,
                factor=factor.value,
                factor_class=FACTOR_CLASS[factor].value,
                scope=scope,
                event_session=pending.event_session,
                now=ctx.now,
            )
        )
        return LoggedIn(issued, verdict)

    def _raise_required(self, pending: Pending, needed: FactorClass) -> None:
        """A risk challenge for a passkey sticks to this login: codes no longer finish it."""
        if pending.id:
            with self.p.database.write() as session:
                session.execute(
                    update(PendingLoginRow)
                    .where(PendingLoginRow.id == pending.id)
                    .values(required=needed.value, enrol_only=False)
                )

    def _use(self, pending_id: str, now: datetime) -> bool:
        with self.p.database.write() as session:
            return bool(
                changed(
                    session,
                    update(PendingLoginRow)
                    .where(PendingLoginRow.id == pending_id, PendingLoginRow.used_at.is_(None))
                    .values(used_at=now),
                )
            )


def _usable(
    account: Account,
    required: FactorClass,
    *,
    has_passkey: bool,
    enrol_only: bool,
    has_email: bool,
) -> tuple[Factor, ...]:
    """The factors that can finish this login: codes only where any MFA will do (or to enrol),
    plus a recovery code for a customer who lost their passkey (it can only enrol a new one).
    An e-mailed code is offered only to a customer with an address on file."""
    factors = [Factor.PASSKEY] if has_passkey else []
    if required is FactorClass.ANY_MFA or enrol_only:
        factors += [Factor.TOTP] if account.has_totp else []
        factors += [Factor.EMAIL_OTP] if has_email else []
    return (*factors, Factor.RECOVERY_CODE)


def _has_email(session: Session, customer_id: str) -> bool:
    """Whether codes can be e-mailed to the customer, read in the caller's transaction."""
    profile = load_profiles(session.connection(), [customer_id]).get(customer_id)
    return profile is not None and profile.email is not None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _allowed(pending: Pending, factor: Factor) -> None:
    if factor not in pending.factors:
        names = ", ".join(f.value for f in pending.factors) or "none"
        raise FactorNotAllowed(
            f"{factor.value} cannot complete this login; allowed: {names}", field="factor"
        )


def _wants_passkey(verdict: Verdict) -> bool:
    return (
        verdict.outcome is Outcome.CHALLENGE and verdict.required is FactorClass.PHISHING_RESISTANT
    )


def _obey(verdict: Verdict, account: Account) -> None:
    """Refuse when the engine denies or holds, or the customer locked their own login."""
    if verdict.refused:
        raise LoginRefused(
            "the login was refused (" + ", ".join(verdict.reasons or (verdict.outcome.value,)) + ")"
        )
    if account.self_lock is not None:
        raise LoginRefused(
            "you locked logins to this account; unlock it with your passkey on the unlock page"
        )
