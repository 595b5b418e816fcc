"""Contacts and preferences: validated, encrypted at rest, masked when shown, audited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from kabuguard.audit.chain import AuditKind
from kabuguard.audit.models import AuditEntry
from kabuguard.audit.services import verify_chain
from kabuguard.db import Database
from kabuguard.notifications.contacts import mask_email, normalise_email, normalise_phone
from kabuguard.notifications.crypto import FieldCipher
from kabuguard.notifications.customers import CustomerSettings
from kabuguard.notifications.interfaces import InvalidContact, SecurityNoticeRequired
from kabuguard.notifications.kinds import Locale
from kabuguard.notifications.kinds import NoticeKind as K

CIPHER = FieldCipher(b"k" * 32)
AT = datetime(2026, 11, 21, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (" Taro.Yamada+kabu@Example.JP ", "Taro.Yamada+kabu@example.jp"),
        ("a@xn--eckwd4c7c.jp", "a@xn--eckwd4c7c.jp"),
        ("a@例え.jp", "a@xn--r8jz45g.jp"),
    ],
)
def test_addresses_are_normalised(raw: str, clean: str) -> None:
    assert normalise_email(raw) == clean


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "taro",
        "taro@",
        "@example.jp",
        "a@b",
        "a b@example.jp",
        "a@@example.jp",
        "a@example..jp",
        "x@example.jp\r\nBcc: y@example.jp",
        "<a@example.jp>",
    ],
)
def test_unusable_addresses_are_refused_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidContact) as refused:
        normalise_email(raw)
    assert refused.value.field == "email"
    # Its text is logged and kept as a dead letter's reason: it never quotes the address.
    assert str(refused.value) in {"not a valid e-mail address", "the domain is not a valid name"}


def test_phone_numbers_become_e164() -> None:
    assert normalise_phone("090-1234-5678") == "+819012345678"
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"
    assert mask_email("taro@example.jp") == "t***@e***.jp"
    for bad in ("12345", "+0123456789", "phone"):
        with pytest.raises(InvalidContact) as refused:
            normalise_phone(bad)
        assert str(refused.value) == "not a phone number; use E.164, e.g. +819012345678"


def test_contacts_are_stored_encrypted_shown_masked_and_audited(database: Database) -> None:
    with database.write() as session:
        view = CustomerSettings(session, CIPHER, actor="apikey:crm", at=AT).set_contacts(
            "c-1", email="Taro@Example.jp", phone="090-1234-5678", locale=Locale.EN
        )
    assert (view.email, view.phone, view.locale) == ("T***@e***.jp", "*********5678", Locale.EN)
    with database.read() as session:
        stored = session.execute(text("SELECT email, phone FROM notification_profiles")).one()
        entry = session.execute(select(AuditEntry)).scalar_one()
        assert verify_chain(session).intact
        again = CustomerSettings(session, CIPHER, actor="t", at=AT).contacts("c-1")
    assert "example" not in stored.email.lower()
    assert "5678" not in stored.phone
    assert again == view
    assert (entry.kind, entry.actor, entry.subject) == (
        AuditKind.CUSTOMER_CONTACTS_SET,
        "apikey:crm",
        "c-1",
    )
    assert "example" not in entry.payload.lower()
    assert '"email":"set"' in entry.payload


def test_security_notices_cannot_be_turned_off(database: Database) -> None:
    with database.write() as session:
        service = CustomerSettings(
            session, CIPHER, actor="t", at=AT, defaults=frozenset({K.ORDER_CANCELLED})
        )
        with pytest.raises(SecurityNoticeRequired, match="login:device:new"):
            service.set_preferences("c-1", enabled=[], disabled=[K.LOGIN_DEVICE_NEW])
        view = service.set_preferences(
            "c-1", enabled=[K.LOGIN_DEVICE_KNOWN], disabled=[K.ORDER_CANCELLED]
        )
    assert view.enabled == (K.LOGIN_DEVICE_KNOWN,)
    assert view.disabled == (K.ORDER_CANCELLED,)
    assert K.LOGIN_DEVICE_KNOWN in view.receives
    assert K.ORDER_CANCELLED not in view.receives
    assert {k for k in K if not k.optional} <= set(view.receives)
