"""Self-service lock (ACCT-4) and its unlocks: by the customer's passkey, or by two operators.

LockScope.LOGIN stops kabuguard's logins and ends every session. LockScope.ALL also submits a
customer_lock to the engine, which then refuses trading, withdrawals and changes from every
channel. Either way, orders already standing at the broker keep running: the pages say so.
A customer's passkey lifts their own locks (and a lock they set with a freeze link); a lock
set by staff or the broker needs staff: one operator asks, a different one approves (AUTH-10).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from anyio import to_thread
from sqlalchemy import select

from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind
from kabuguard.auth.accounts import Accounts
from kabuguard.auth.interfaces import Conflict, InvalidInput, LockScope, Purpose
from kabuguard.auth.models import UnlockRequestRow
from kabuguard.auth.passkeys import Issued, Passkeys
from kabuguard.auth.sessions import Sessions
from kabuguard.auth.steps import Context, StepRecorder
from kabuguard.db import Database
from kabuguard.risk.events import CustomerUnlock, Initiator
from kabuguard.state.models import CustomerLockRow

SELF_LOCK_REASON = "self-service lock from the security centre"
UNLOCK_REQUEST_TTL = timedelta(hours=24)


def engine_lock(database: Database, customer_id: str) -> CustomerLockRow | None:
    with database.read() as session:
        return session.get(CustomerLockRow, customer_id)


class SelfLock:
    def __init__(
        self,
        database: Database,
        accounts: Accounts,
        sessions: Sessions,
        passkeys: Passkeys,
        steps: StepRecorder,
    ) -> None:
        self._db = database
        self._accounts = accounts
        self._sessions = sessions
        self._passkeys = passkeys
        self._steps = steps

    async def lock(self, ctx: Context, customer_id: str, scope: LockScope) -> None:
        await to_thread.run_sync(
            lambda: self._accounts.set_self_lock(customer_id, scope, actor=ctx.actor, now=ctx.now)
        )
        if scope is LockScope.ALL:
            await self._steps.lock(ctx, customer_id, Initiator.CUSTOMER, SELF_LOCK_REASON)
        await to_thread.run_sync(self._sessions.revoke_all, customer_id, "self_lock", ctx.now)

    def unlock_options(self, ctx: Context) -> Issued:
        """Discoverable: the locked customer has no session, only their passkey."""
        return self._passkeys.assertion(Purpose.UNLOCK, ctx.now)

    async def unlock(self, ctx: Context, challenge_id: str, credential: object) -> str:
        asserted = await to_thread.run_sync(
            self._passkeys.verify, challenge_id, Purpose.UNLOCK, credential, ctx.now
        )
        customer = asserted.customer_id
        account = await to_thread.run_sync(self._accounts.get, customer)
        lock = await to_thread.run_sync(engine_lock, self._db, customer)
        own_lock = lock is not None and lock.initiated_by == Initiator.CUSTOMER.value
        if lock is not None and not own_lock:
            raise Conflict("staff locked this account; please call us to unlock it")
        if account.self_lock is None and lock is None:
            raise Conflict("this account is not locked")
        if own_lock:
            await self._steps.lock(
                ctx, customer, Initiator.CUSTOMER, "unlocked with a passkey", unlock=True
            )
        await to_thread.run_sync(
            lambda: self._accounts.set_self_lock(customer, None, actor=ctx.actor, now=ctx.now)
        )
        return customer


@dataclass(frozen=True, slots=True)
class UnlockStep:
    customer_id: str
    request_id: int
    done: bool  # False: waiting for a second operator
    first_operator: str


def staff_unlock_step(
    database: Database, customer_id: str, operator: str, now: datetime
) -> UnlockStep:
    """Ask for an unlock, or approve another operator's request (never one's own)."""
    operator = operator.strip()
    if not operator:
        raise InvalidInput("name the operator (--operator)", field="operator")
    R = UnlockRequestRow
    with database.write() as session:
        audit.lock_head(session)  # serialises operators racing on the same request
        open_request = session.execute(
            select(R)
            .where(
                R.customer_id == customer_id,
                R.completed_at.is_(None),
                R.requested_at > now - UNLOCK_REQUEST_TTL,
            )
            .order_by(R.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if open_request is None:
            row = R(customer_id=customer_id, first_operator=operator, requested_at=now)
            session.add(row)
            session.flush()
            audit.append(
                session,
                kind=AuditKind.AUTH_UNLOCK_REQUESTED,
                actor=f"staff:{operator}",
                subject=customer_id,
                payload={"request": row.id},
                at=now,
            )
            return UnlockStep(customer_id, row.id, False, operator)
        if open_request.first_operator == operator:
            raise Conflict(
                f"{operator} asked for this unlock; a second, different operator must approve it"
            )
        open_request.second_operator, open_request.completed_at = operator, now
        audit.append(
            session,
            kind=AuditKind.AUTH_UNLOCK_APPROVED,
            actor=f"staff:{operator}",
            subject=customer_id,
            payload={
                "request": open_request.id,
                "first_operator": open_request.first_operator,
                "second_operator": operator,
            },
            at=now,
        )
        return UnlockStep(customer_id, open_request.id, True, open_request.first_operator)


def staff_unlock_event(step: UnlockStep, operator: str, now: datetime) -> CustomerUnlock:
    return CustomerUnlock(
        event_id=f"auth-unlock-staff-{step.request_id}-{step.customer_id}"[:128],
        occurred_at=now,
        customer_id=step.customer_id,
        initiated_by=Initiator.STAFF,
        reason=f"unlocked by {step.first_operator} and {operator} (two operators)"[:500],
    )
