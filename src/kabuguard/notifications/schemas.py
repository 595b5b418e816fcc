"""Request and response bodies of the notification endpoints (pydantic at the edge)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kabuguard.notifications.contacts import normalise_email, normalise_phone
from kabuguard.notifications.customers import ContactsView, PreferencesView, check_disabled
from kabuguard.notifications.kinds import Locale, NoticeKind
from kabuguard.notifications.models import InboxRow
from kabuguard.parsing import RequestBody


class ContactsIn(RequestBody):
    """The customer's contacts as the broker holds them; a field left out is removed."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=320, examples=["taro@example.jp"])
    phone: str | None = Field(
        default=None, max_length=32, description="E.164; Japanese 0X0-… numbers are converted."
    )
    locale: Locale = Locale.JA

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalise_email(value) if value is not None else None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalise_phone(value) if value is not None else None


class ContactsOut(BaseModel):
    customer_id: str
    email: str | None = Field(description="Masked, e.g. t***@e***.jp.")
    phone: str | None = Field(description="Masked to the last four digits.")
    locale: Locale

    @classmethod
    def of(cls, view: ContactsView) -> ContactsOut:
        return cls(
            customer_id=view.customer_id, email=view.email, phone=view.phone, locale=view.locale
        )


class PreferencesIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    enabled: list[NoticeKind] = Field(default_factory=list, max_length=len(NoticeKind))
    disabled: list[NoticeKind] = Field(
        default_factory=list,
        max_length=len(NoticeKind),
        description="Optional notices only: security notices cannot be turned off.",
    )

    @field_validator("disabled")
    @classmethod
    def _only_optional(cls, value: list[NoticeKind]) -> list[NoticeKind]:
        return check_disabled(value)


class PreferencesOut(BaseModel):
    customer_id: str
    enabled: list[NoticeKind]
    disabled: list[NoticeKind]
    receives: list[NoticeKind]

    @classmethod
    def of(cls, view: PreferencesView) -> PreferencesOut:
        return cls(
            customer_id=view.customer_id,
            enabled=list(view.enabled),
            disabled=list(view.disabled),
            receives=list(view.receives),
        )


class InboxMessageOut(BaseModel):
    id: int
    kind: NoticeKind
    locale: Locale
    subject: str
    body: str
    occurred_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, row: InboxRow) -> InboxMessageOut:
        return cls(
            id=row.id,
            kind=NoticeKind(row.kind),
            locale=Locale(row.locale),
            subject=row.subject,
            body=row.body,
            occurred_at=row.occurred_at,
            created_at=row.created_at,
        )


class InboxOut(BaseModel):
    items: list[InboxMessageOut]
    next_before: int | None = Field(description="Pass as `before` for the next (older) page.")
