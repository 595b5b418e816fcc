"""Where to send: contacts (encrypted), preferences and known devices, one profile per customer.

Profiles are read and written whole. Every writer (the decision path, the contacts API and
CLI) first takes the audit head lock, so read-modify-write cycles never interleave.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from kabuguard.hotsql import select_in, upsert_many
from kabuguard.notifications.crypto import FieldCipher
from kabuguard.notifications.interfaces import InvalidContact
from kabuguard.notifications.kinds import ChannelKind, Locale, NoticeKind
from kabuguard.notifications.models import ProfileRow

MAX_DEVICES = 32  # the most recent devices are kept; older ones become "new" again

_EMAIL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_PHONE = re.compile(r"^\+[1-9][0-9]{7,14}$")
_PHONE_NOISE = re.compile(r"[\s()\-.]")
_COLUMNS = tuple(column.name for column in ProfileRow.__table__.columns)
_READ = tuple(name for name in _COLUMNS if name != "updated_at")


@dataclass(frozen=True, slots=True)
class Sealed:
    """An encrypted contact value and its keyed digest."""

    ciphertext: str
    digest: str


@dataclass(frozen=True, slots=True)
class Profile:
    customer_id: str
    email: Sealed | None = None
    phone: Sealed | None = None
    locale: Locale = Locale.JA
    enabled: frozenset[NoticeKind] = frozenset()
    disabled: frozenset[NoticeKind] = frozenset()
    devices: tuple[str, ...] = ()
    login_session: str | None = None

    def optional_kinds(self, defaults: frozenset[NoticeKind]) -> frozenset[NoticeKind]:
        return (defaults | self.enabled) - self.disabled

    def contact(self, channel: ChannelKind) -> Sealed | None:
        return {ChannelKind.EMAIL: self.email, ChannelKind.SMS: self.phone}.get(channel)

    def with_device(self, device: str) -> Profile:
        devices = (*(d for d in self.devices if d != device), device)[-MAX_DEVICES:]
        return dataclasses.replace(self, devices=devices)


# The errors below never quote the value: they reach logs and outbox.last_error, and a
# contact detail must not (`outbox list` promises no addresses).
def normalise_email(value: str) -> str:
    """An address we can send to: ASCII, one @, a dotted domain (lower-cased)."""
    text = value.strip()
    local, _, domain = text.rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidContact("email", "the domain is not a valid name") from None
    address = f"{local}@{domain}"
    if len(address) > 254 or not _EMAIL.match(address) or ".." in address:
        raise InvalidContact("email", "not a valid e-mail address")
    return address


def normalise_phone(value: str) -> str:
    """E.164 (+819012345678); a Japanese domestic number (090-1234-5678) is converted."""
    digits = _PHONE_NOISE.sub("", value.strip())
    if re.fullmatch(r"0[1-9][0-9]{8,9}", digits):
        digits = "+81" + digits[1:]
    if not _PHONE.match(digits):
        raise InvalidContact("phone", "not a phone number; use E.164, e.g. +819012345678")
    return digits


def normalised(contact: ChannelKind, value: str) -> str:
    return normalise_email(value) if contact is ChannelKind.EMAIL else normalise_phone(value)


def seal(cipher: FieldCipher, customer_id: str, channel: ChannelKind, value: str) -> Sealed:
    return Sealed(
        cipher.encrypt(value, context=contact_context(customer_id, channel)), cipher.digest(value)
    )


def contact_context(customer_id: str, channel: ChannelKind) -> str:
    """Associated data binding a ciphertext to its customer and channel."""
    return f"contact:{channel.value}:{customer_id}"


def mask_email(address: str) -> str:
    """t***@e***.com: enough to recognise, never a clickable domain."""
    local, _, domain = address.partition("@")
    top = domain.rsplit(".", 1)[-1]
    return f"{local[:1]}***@{domain[:1]}***.{top}"


def mask_tail(number: str) -> str:
    """All but the last four characters hidden: phone and account numbers."""
    return "*" * max(len(number) - 4, 0) + number[-4:]


def masked_in(text: str, contact: str, mask: str) -> str:
    """`text` with `contact` (in any case) replaced by `mask`: a server's answer may quote
    the recipient, and that answer is logged and kept as the outbox row's last error."""
    if not contact:
        return text
    return re.sub(re.escape(contact), lambda _: mask, text, flags=re.IGNORECASE)


def load_profiles(connection: Connection, customer_ids: Iterable[str]) -> dict[str, Profile]:
    """Profiles of the customers that have one, in one query per 500 customers."""
    wanted = sorted(set(customer_ids))
    rows = select_in(connection, ProfileRow, _READ, "customer_id", wanted)
    return {row[0]: _profile(dict(zip(_READ, row, strict=True))) for row in rows}


def save_profiles(connection: Connection, profiles: Iterable[Profile], now: datetime) -> None:
    rows = [_row(profile, now) for profile in profiles]
    columns = tuple(name for name in _COLUMNS if name != "customer_id")
    upsert_many(connection, ProfileRow, ("customer_id",), columns, rows)


def _profile(row: Any) -> Profile:
    """A profile from a result row's mapping (column name -> value)."""

    def sealed(prefix: str) -> Sealed | None:
        text = row[prefix]
        return Sealed(text, row[f"{prefix}_digest"]) if text is not None else None

    return Profile(
        customer_id=row["customer_id"],
        email=sealed("email"),
        phone=sealed("phone"),
        locale=Locale(row["locale"]),
        enabled=_kinds(row["enabled"]),
        disabled=_kinds(row["disabled"]),
        devices=tuple(orjson.loads(row["devices"])),
        login_session=row["login_session"],
    )


def _kinds(text: str) -> frozenset[NoticeKind]:
    return frozenset(NoticeKind(k) for k in orjson.loads(text)) if text != "[]" else frozenset()


def _row(profile: Profile, now: datetime) -> dict[str, Any]:
    return {
        "customer_id": profile.customer_id,
        "email": profile.email.ciphertext if profile.email else None,
        "email_digest": profile.email.digest if profile.email else None,
        "phone": profile.phone.ciphertext if profile.phone else None,
        "phone_digest": profile.phone.digest if profile.phone else None,
        "locale": profile.locale.value,
        "enabled": orjson.dumps(sorted(profile.enabled)).decode(),
        "disabled": orjson.dumps(sorted(profile.disabled)).decode(),
        "devices": orjson.dumps(list(profile.devices)).decode(),
        "login_session": profile.login_session,
        "updated_at": now,
    }
