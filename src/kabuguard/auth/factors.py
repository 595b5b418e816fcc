"""The interim factors: authenticator app (TOTP), e-mail one-time code, recovery codes.

Each code is usable once, enforced by a conditional UPDATE (no read-modify-write): the TOTP
step must be later than the last accepted one; an e-mail code or recovery code must still be
unused. E-mail codes also count their attempts atomically and expire quickly.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from kabuguard.auth import totp
from kabuguard.auth.interfaces import CodeSender, Conflict, FactorNotAllowed, InvalidCode, NotFound
from kabuguard.auth.models import AccountRow, EmailCodeRow, Guard, RecoveryCodeRow, changed
from kabuguard.db import Database
from kabuguard.notifications.crypto import FieldCipher

RECOVERY_CODES = 10
MAX_CODES_PER_LOGIN = 3
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    secret: str
    uri: str
    qr_svg: str


@dataclass(frozen=True, slots=True)
class TotpConfirmed:
    sealed: str  # the encrypted secret the code matched
    step: int  # its time step, used: the same code cannot then log in


class Totp:
    def __init__(self, database: Database, cipher: FieldCipher, issuer: str) -> None:
        self._db = database
        self._cipher = cipher
        self._issuer = issuer

    def begin(self, customer_id: str) -> TotpEnrolment:
        secret = totp.new_secret()
        sealed = self._cipher.encrypt(secret, context=_context(customer_id))
        with self._db.write() as session:
            account = session.get(AccountRow, customer_id)
            if account is None:
                raise NotFound(f"no customer {customer_id!r}")
            account.totp_pending = sealed
            username = account.username
        uri = totp.provisioning_uri(secret, username, self._issuer)
        return TotpEnrolment(secret, uri, totp.qr_svg(uri))

    def check(self, customer_id: str, code: str, now: datetime) -> TotpConfirmed:
        """The app's first code matches the secret being set up; nothing is stored yet."""
        with self._db.read() as session:
            account = session.get(AccountRow, customer_id)
            pending = account.totp_pending if account else None
        if pending is None:
            raise Conflict("start the authenticator-app set-up first")
        secret = self._cipher.decrypt(pending, context=_context(customer_id))
        step = totp.matching_step(secret, code, now)
        if step is None:
            raise InvalidCode("the code does not match; check the app's time and try again")
        return TotpConfirmed(pending, step)

    def store(self, customer_id: str, confirmed: TotpConfirmed, *, guard: Guard) -> None:
        """Enrol the checked secret, unless a new set-up replaced it (or it was enrolled)."""
        with self._db.write() as session:
            guard(session)
            done = changed(
                session,
                update(AccountRow)
                .where(
                    AccountRow.customer_id == customer_id,
                    AccountRow.totp_pending == confirmed.sealed,
                )
                .values(
                    totp_secret=confirmed.sealed, totp_pending=None, totp_last_step=confirmed.step
                ),
            )
        if not done:
            raise Conflict("this authenticator-app set-up was replaced or finished; start again")

    def enrolled(self, customer_id: str) -> bool:
        with self._db.read() as session:
            account = session.get(AccountRow, customer_id)
        return account is not None and account.totp_secret is not None

    def verify(self, customer_id: str, code: str, now: datetime) -> None:
        with self._db.read() as session:
            account = session.get(AccountRow, customer_id)
            sealed = account.totp_secret if account else None
        if sealed is None:
            raise FactorNotAllowed("no authenticator app is set up for this customer")
        step = totp.matching_step(
            self._cipher.decrypt(sealed, context=_context(customer_id)), code, now
        )
        if step is None:
            raise InvalidCode("the code is wrong or has expired", field="code")
        last = AccountRow.totp_last_step
        with self._db.write() as session:
            fresh = changed(
                session,
                update(AccountRow)
                .where(AccountRow.customer_id == customer_id, or_(last.is_(None), last < step))
                .values(totp_last_step=step),
            )
        if not fresh:
            raise InvalidCode("this code was already used; wait for the next one", field="code")

    def remove(self, customer_id: str) -> None:
        with self._db.write() as session:
            session.execute(
                update(AccountRow)
                .where(AccountRow.customer_id == customer_id)
                .values(totp_secret=None, totp_pending=None, totp_last_step=None)
            )


def _context(customer_id: str) -> str:
    return f"totp:{customer_id}"


class EmailCodes:
    """6-digit codes, HMAC-stored, short-lived, a few attempts each (an interim factor)."""

    def __init__(
        self,
        database: Database,
        cipher: FieldCipher,
        sender: CodeSender,
        *,
        ttl: timedelta,
        max_attempts: int,
    ) -> None:
        self._db = database
        self._cipher = cipher
        self._sender = sender
        self._ttl = ttl
        self._max_attempts = max_attempts

    def send(self, login_id: str, customer_id: str, now: datetime, ip: str | None) -> datetime:
        """Issue a code for this login (replacing an earlier one) and queue it; its expiry."""
        code = f"{secrets.randbelow(10**6):06d}"
        expires = now + self._ttl
        with self._db.write() as session:
            issued = session.execute(
                select(func.count()).where(EmailCodeRow.login_id == login_id)
            ).scalar_one()
            if issued >= MAX_CODES_PER_LOGIN:
                raise Conflict("too many codes were requested for this login; start again")
            session.execute(
                update(EmailCodeRow)
                .where(EmailCodeRow.login_id == login_id, EmailCodeRow.used_at.is_(None))
                .values(used_at=now)
            )
            session.add(
                EmailCodeRow(
                    login_id=login_id,
                    customer_id=customer_id,
                    digest=self._digest(login_id, code),
                    attempts=0,
                    expires_at=expires,
                )
            )
        if not self._sender.send_code(customer_id, code, now=now, expires_at=expires, ip=ip):
            raise FactorNotAllowed("no e-mail address is registered for this customer")
        return expires

    def verify(self, login_id: str, code: str, now: datetime) -> None:
        E = EmailCodeRow
        live = (E.login_id == login_id, E.used_at.is_(None), E.expires_at > now)
        with self._db.write() as session:  # the attempt is counted before the comparison
            row = session.execute(
                update(E)
                .where(*live, E.attempts < self._max_attempts)
                .values(attempts=E.attempts + 1)
                .returning(E.id, E.digest)
            ).first()
        if row is None:
            raise InvalidCode(
                "the code has expired, was used, or was tried too often; ask for a new code",
                field="code",
            )
        if not secrets.compare_digest(row.digest, self._digest(login_id, code.strip())):
            raise InvalidCode("the code is wrong", field="code")
        with self._db.write() as session:
            used = changed(
                session, update(E).where(E.id == row.id, E.used_at.is_(None)).values(used_at=now)
            )
        if not used:
            raise InvalidCode("this code was already used", field="code")

    def _digest(self, login_id: str, code: str) -> str:
        return self._cipher.digest(f"email-code:{login_id}:{code}")


def _recovery_digest(customer_id: str, code: str) -> str:
    # 80 random bits per code: a fast hash suffices (nothing to brute-force offline), and
    # binding the customer id means one table row cannot be replayed for another customer.
    normalised = code.upper().replace("-", "").replace(" ", "")
    return hashlib.sha256(f"{customer_id}:{normalised}".encode()).hexdigest()


class RecoveryCodes:
    def __init__(self, database: Database) -> None:
        self._db = database

    def replace(self, customer_id: str, now: datetime, *, guard: Guard) -> list[str]:
        """Ten new codes, shown once; every earlier code stops working."""
        codes = ["-".join(_chunk(_random_code(16), 4)) for _ in range(RECOVERY_CODES)]
        with self._db.write() as session:
            guard(session)
            session.execute(
                delete(RecoveryCodeRow).where(RecoveryCodeRow.customer_id == customer_id)
            )
            session.add_all(
                RecoveryCodeRow(
                    customer_id=customer_id,
                    digest=_recovery_digest(customer_id, code),
                    created_at=now,
                )
                for code in codes
            )
        return codes

    def use(self, customer_id: str, code: str, now: datetime) -> None:
        R = RecoveryCodeRow
        with self._db.write() as session:
            used = changed(
                session,
                update(R)
                .where(
                    R.customer_id == customer_id,
                    R.digest == _recovery_digest(customer_id, code),
                    R.used_at.is_(None),
                )
                .values(used_at=now),
            )
        if not used:
            raise InvalidCode("this recovery code is wrong or was already used", field="code")

    def remaining(self, customer_id: str) -> int:
        R = RecoveryCodeRow
        with self._db.read() as session:
            return int(
                session.execute(
                    select(func.count()).where(R.customer_id == customer_id, R.used_at.is_(None))
                ).scalar_one()
            )


def _random_code(length: int) -> str:
    return "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(length))


def _chunk(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]
