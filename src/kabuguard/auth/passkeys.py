"""Passkeys: server-side single-use challenges, registration, and assertions checked end to end.

A challenge is consumed (used_at set atomically) before its response is verified, so a
response can be tried only once, whether it verifies or not: a replayed assertion meets
"already used". The sign counter moves forward in the same conditional UPDATE, so two
copies of one assertion racing each other cannot both pass.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from kabuguard.auth.interfaces import Conflict, NotFound, PasskeyRejected, Purpose, StepExpired
from kabuguard.auth.models import AccountRow, ChallengeRow, Guard, PasskeyRow, changed
from kabuguard.auth.webauthn import (
    NewPasskey,
    RelyingParty,
    assertion_ids,
    authentication_options,
    b64,
    registration_options,
    unb64,
    verify_assertion,
    verify_registration,
)
from kabuguard.db import Database

MAX_PASSKEYS = 20


@dataclass(frozen=True, slots=True)
class Issued:
    challenge_id: str
    options: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Consumed:
    customer_id: str | None
    challenge: bytes
    subject: str | None


@dataclass(frozen=True, slots=True)
class PasskeyView:
    credential_id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class Asserted:
    customer_id: str
    credential_id: str
    subject: str | None


class Passkeys:
    def __init__(self, database: Database, rp: RelyingParty, ttl: timedelta) -> None:
        self._db = database
        self.rp = rp
        self._ttl = ttl

    def _issue(
        self,
        purpose: Purpose,
        customer_id: str | None,
        subject: str | None,
        challenge: bytes,
        now: datetime,
    ) -> str:
        challenge_id = secrets.token_urlsafe(24)
        with self._db.write() as session:
            session.execute(delete(ChallengeRow).where(ChallengeRow.expires_at <= now))
            session.add(
                ChallengeRow(
                    id=challenge_id,
                    purpose=purpose.value,
                    customer_id=customer_id,
                    challenge=b64(challenge),
                    subject=subject,
                    expires_at=now + self._ttl,
                )
            )
        return challenge_id

    def consume(self, challenge_id: str, purpose: Purpose, now: datetime) -> Consumed:
        statement = (
            update(ChallengeRow)
            .where(
                ChallengeRow.id == challenge_id[:64],
                ChallengeRow.purpose == purpose.value,
                ChallengeRow.used_at.is_(None),
                ChallengeRow.expires_at > now,
            )
            .values(used_at=now)
            .returning(ChallengeRow.customer_id, ChallengeRow.challenge, ChallengeRow.subject)
        )
        with self._db.write() as session:
            row = session.execute(statement).first()
        if row is None:
            raise StepExpired(
                "this passkey request has expired or was already used; please try again",
                field="challenge_id",
            )
        return Consumed(row.customer_id, unb64(row.challenge), row.subject)

    def registration(self, customer_id: str, now: datetime) -> Issued:
        with self._db.read() as session:
            account = session.get(AccountRow, customer_id)
            if account is None:
                raise NotFound(f"no customer {customer_id!r}")
            exclude = list(
                session.execute(
                    select(PasskeyRow.credential_id).where(PasskeyRow.customer_id == customer_id)
                ).scalars()
            )
        if len(exclude) >= MAX_PASSKEYS:
            raise Conflict(f"at most {MAX_PASSKEYS} passkeys per customer; remove one first")
        challenge = secrets.token_bytes(32)
        options = registration_options(
            self.rp,
            user_handle=account.user_handle,
            username=account.username,
            display_name=account.display_name,
            challenge=challenge,
            exclude=exclude,
        )
        return Issued(self._issue(Purpose.REGISTER, customer_id, None, challenge, now), options)

    def verify_new(
        self, customer_id: str, challenge_id: str, credential: Any, now: datetime
    ) -> NewPasskey:
        """A verified registration response, not yet stored (the engine is asked in between)."""
        consumed = self.consume(challenge_id, Purpose.REGISTER, now)
        if consumed.customer_id != customer_id:
            raise PasskeyRejected("this passkey request belongs to another customer")
        new = verify_registration(self.rp, credential, consumed.challenge)
        with self._db.read() as session:
            if session.get(PasskeyRow, new.credential_id) is not None:
                raise Conflict("this passkey is already registered")
        return new

    def add(
        self, customer_id: str, new: NewPasskey, name: str, now: datetime, *, guard: Guard
    ) -> PasskeyView:
        row = PasskeyRow(
            credential_id=new.credential_id,
            customer_id=customer_id,
            public_key=new.public_key,
            sign_count=new.sign_count,
            transports=orjson.dumps(list(new.transports)).decode(),
            name=name[:100] or "passkey",
            created_at=now,
        )
        with self._db.write() as session:
            guard(session)
            if session.get(PasskeyRow, new.credential_id) is not None:
                raise Conflict("this passkey is already registered")
            session.add(row)
        return PasskeyView(row.credential_id, row.name, now, None)

    def assertion(
        self,
        purpose: Purpose,
        now: datetime,
        *,
        customer_id: str | None = None,
        subject: str | None = None,
        challenge: bytes | None = None,
    ) -> Issued:
        """Options for an assertion; for a known customer only their passkeys are offered."""
        allow = self.credential_ids(customer_id) if customer_id else []
        if customer_id and not allow:
            raise NotFound("no passkey is registered for this customer")
        challenge = challenge or secrets.token_bytes(32)
        options = authentication_options(self.rp, challenge=challenge, allow=allow)
        return Issued(self._issue(purpose, customer_id, subject, challenge, now), options)

    def verify(
        self, challenge_id: str, purpose: Purpose, credential: Any, now: datetime
    ) -> Asserted:
        consumed = self.consume(challenge_id, purpose, now)
        ids = assertion_ids(credential)
        with self._db.read() as session:
            row = session.get(PasskeyRow, ids.credential_id)
            account = session.get(AccountRow, row.customer_id) if row is not None else None
            handle = account.user_handle if account is not None else None
        if row is None:
            raise PasskeyRejected("this passkey is not registered here", field="credential")
        try:
            if ids.user_handle is not None and ids.user_handle != handle:
                raise PasskeyRejected("the passkey's user handle does not match its account")
            if consumed.customer_id is not None and consumed.customer_id != row.customer_id:
                raise PasskeyRejected("this passkey belongs to another customer")
            count = verify_assertion(
                self.rp,
                credential,
                challenge=consumed.challenge,
                public_key=row.public_key,
                sign_count=row.sign_count,
            )
            self._advance(row.credential_id, count, now)
        except PasskeyRejected as error:
            error.customer_id = row.customer_id  # a failed step of a known customer
            raise
        return Asserted(row.customer_id, row.credential_id, consumed.subject)

    def _advance(self, credential_id: str, count: int, now: datetime) -> None:
        """Store the new sign count unless a concurrent assertion already moved past it."""
        P = PasskeyRow
        forward = P.sign_count < count if count else P.sign_count == 0
        with self._db.write() as session:
            moved = changed(
                session,
                update(P)
                .where(P.credential_id == credential_id, forward)
                .values(sign_count=count, last_used_at=now),
            )
        if not moved:
            raise PasskeyRejected("the passkey's signature counter went backwards (cloned?)")

    def credential_ids(self, customer_id: str | None) -> list[str]:
        with self._db.read() as session:
            return list(
                session.execute(
                    select(PasskeyRow.credential_id).where(PasskeyRow.customer_id == customer_id)
                ).scalars()
            )

    def count(self, customer_id: str) -> int:
        with self._db.read() as session:
            return int(
                session.execute(
                    select(func.count()).where(PasskeyRow.customer_id == customer_id)
                ).scalar_one()
            )

    def list(self, customer_id: str) -> list[PasskeyView]:
        query = (
            select(PasskeyRow)
            .where(PasskeyRow.customer_id == customer_id)
            .order_by(PasskeyRow.created_at)
        )
        with self._db.read() as session:
            return [
                PasskeyView(r.credential_id, r.name, r.created_at, r.last_used_at)
                for r in session.execute(query).scalars()
            ]

    def check_removable(self, customer_id: str, credential_id: str) -> None:
        """Refuse before asking the engine: an unknown passkey, or the customer's only one."""
        owned = self.credential_ids(customer_id)
        if credential_id not in owned:
            raise NotFound("no such passkey for this customer")
        if len(owned) < 2:
            raise Conflict(_ONLY_PASSKEY)

    def remove(self, customer_id: str, credential_id: str, *, guard: Guard) -> None:
        with self._db.write() as session:
            guard(session)
            _others(session, customer_id, credential_id)
            gone = changed(
                session,
                delete(PasskeyRow).where(
                    PasskeyRow.customer_id == customer_id,
                    PasskeyRow.credential_id == credential_id,
                ),
            )
        if not gone:
            raise NotFound("no such passkey for this customer")


_ONLY_PASSKEY = "this is your only passkey; register another before removing it"


def _others(session: Session, customer_id: str, credential_id: str) -> None:
    others = session.execute(
        select(func.count()).where(
            PasskeyRow.customer_id == customer_id, PasskeyRow.credential_id != credential_id
        )
    ).scalar_one()
    if not others:
        raise Conflict(_ONLY_PASSKEY)
