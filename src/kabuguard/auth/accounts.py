"""Customer accounts: creation (broker onboarding, demos), lookup, self-service lock state."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind
from kabuguard.auth.interfaces import Conflict, InvalidInput, LockScope, NotFound
from kabuguard.auth.models import AccountRow
from kabuguard.auth.passwords import check_new_password, hash_password
from kabuguard.db import Database
from kabuguard.notifications.contacts import normalise_email
from kabuguard.notifications.crypto import FieldCipher
from kabuguard.notifications.customers import CustomerSettings
from kabuguard.notifications.interfaces import InvalidContact
from kabuguard.notifications.kinds import Locale

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")
_CUSTOMER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$")


def normalise_username(text: str) -> str:
    return text.strip().casefold()


def _checked_email(text: str) -> str:
    """The address codes and notices will go to, checked before anything is written: one we
    cannot send to is the customer's input to correct (422 on the e-mail field), not a 500."""
    try:
        return normalise_email(text)
    except InvalidContact as error:
        raise InvalidInput(str(error), field="email") from None


@dataclass(frozen=True, slots=True)
class Account:
    customer_id: str
    username: str
    display_name: str
    locale: Locale
    password_hash: str | None
    has_totp: bool
    self_lock: LockScope | None
    self_locked_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: AccountRow) -> Account:
        return cls(
            row.customer_id,
            row.username,
            row.display_name,
            Locale(row.locale),
            row.password_hash,
            row.totp_secret is not None,
            LockScope(row.self_lock) if row.self_lock else None,
            row.self_locked_at,
            row.created_at,
        )


@dataclass(frozen=True, slots=True)
class NewAccount:
    username: str
    password: str
    display_name: str
    locale: Locale = Locale.JA
    customer_id: str | None = None
    email: str | None = None


class Accounts:
    def __init__(self, database: Database, cipher: FieldCipher) -> None:
        self._db = database
        self._cipher = cipher

    def create(self, new: NewAccount, *, actor: str, now: datetime) -> Account:
        username = normalise_username(new.username)
        if not _USERNAME.match(username):
            raise InvalidInput(
                "the username must be 3–64 letters, digits or . _ @ -", field="username"
            )
        customer_id = new.customer_id or f"c-{secrets.token_hex(8)}"
        if not _CUSTOMER_ID.match(customer_id):
            raise InvalidInput(
                "customer_id has characters that are not allowed", field="customer_id"
            )
        email = _checked_email(new.email) if new.email else None
        check_new_password(new.password, username)
        row = AccountRow(
            customer_id=customer_id,
            username=username,
            user_handle=secrets.token_urlsafe(32),
            display_name=new.display_name.strip()[:100] or username,
            locale=new.locale.value,
            password_hash=hash_password(new.password),
            created_at=now,
            password_failures=0,
            password_lockouts=0,
            factor_failures=0,
            factor_lockouts=0,
        )
        with self._db.write() as session:
            taken = session.execute(
                select(AccountRow.customer_id).where(
                    (AccountRow.username == username) | (AccountRow.customer_id == customer_id)
                )
            ).first()
            if taken is not None:
                raise Conflict("this username or customer id is already taken", field="username")
            session.add(row)
            if email:
                CustomerSettings(session, self._cipher, actor=actor, at=now).set_contacts(
                    customer_id, email=email, phone=None, locale=new.locale
                )
            audit.append(
                session,
                kind=AuditKind.AUTH_ACCOUNT_CREATED,
                actor=actor,
                subject=customer_id,
                payload={"username": username, "email": bool(email)},
                at=now,
            )
            session.flush()
            return Account.of(row)

    def get(self, customer_id: str) -> Account:
        with self._db.read() as session:
            row = session.get(AccountRow, customer_id)
        if row is None:
            raise NotFound(f"no customer {customer_id!r}")
        return Account.of(row)

    def by_username(self, username: str) -> Account | None:
        query = select(AccountRow).where(AccountRow.username == normalise_username(username)[:64])
        with self._db.read() as session:
            row = session.execute(query).scalar_one_or_none()
        return Account.of(row) if row is not None else None

    def store_rehash(self, customer_id: str, new_hash: str) -> None:
        with self._db.write() as session:
            session.execute(
                update(AccountRow)
                .where(AccountRow.customer_id == customer_id)
                .values(password_hash=new_hash)
            )

    def set_self_lock(
        self, customer_id: str, scope: LockScope | None, *, actor: str, now: datetime
    ) -> None:
        kind = AuditKind.AUTH_SELF_LOCK_SET if scope else AuditKind.AUTH_SELF_LOCK_LIFTED
        # An unlock keeps self_locked_at: sessions begun before the lock stay ended.
        values = {"self_lock": scope.value, "self_locked_at": now} if scope else {"self_lock": None}
        with self._db.write() as session:
            session.execute(
                update(AccountRow).where(AccountRow.customer_id == customer_id).values(**values)
            )
            audit.append(
                session,
                kind=kind,
                actor=actor,
                subject=customer_id,
                payload={"scope": scope.value if scope else None},
                at=now,
            )
