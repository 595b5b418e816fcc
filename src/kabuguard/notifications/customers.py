"""Setting a customer's contacts and preferences (API and CLI), audited; reading the inbox.

Values are shown masked: the API and CLI never hand a stored address back in clear.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind
from kabuguard.notifications.contacts import (
    Profile,
    Sealed,
    contact_context,
    load_profiles,
    mask_email,
    mask_tail,
    normalise_email,
    normalise_phone,
    save_profiles,
    seal,
)
from kabuguard.notifications.crypto import FieldCipher, UndecryptableValue
from kabuguard.notifications.interfaces import SecurityNoticeRequired
from kabuguard.notifications.kinds import OPTIONAL_KINDS, ChannelKind, Locale, NoticeKind
from kabuguard.notifications.models import InboxRow


@dataclass(frozen=True, slots=True)
class ContactsView:
    customer_id: str
    email: str | None  # masked
    phone: str | None  # masked
    locale: Locale


@dataclass(frozen=True, slots=True)
class PreferencesView:
    customer_id: str
    enabled: tuple[NoticeKind, ...]
    disabled: tuple[NoticeKind, ...]
    receives: tuple[NoticeKind, ...]  # every kind this customer is sent, security ones included


def check_disabled(kinds: Iterable[NoticeKind]) -> list[NoticeKind]:
    """The kinds, unless one is a security notice: those can never be turned off."""
    wanted = sorted(set(kinds))
    required = [kind for kind in wanted if not kind.optional]
    if required:
        raise SecurityNoticeRequired(required)
    return wanted


class CustomerSettings:
    def __init__(
        self,
        session: Session,
        cipher: FieldCipher,
        *,
        actor: str,
        at: datetime,
        defaults: frozenset[NoticeKind] = frozenset(),
    ) -> None:
        self._session = session
        self._cipher = cipher
        self._actor = actor
        self._at = at
        self._defaults = defaults

    def contacts(self, customer_id: str) -> ContactsView:
        return self._contacts_view(self._profile(customer_id))

    def set_contacts(
        self, customer_id: str, *, email: str | None, phone: str | None, locale: Locale
    ) -> ContactsView:
        """Replace the contacts (None removes one). The broker's record, so no notice is sent:
        a change the customer makes arrives as a contact_change event and is notified."""
        before = self._profile(customer_id, lock=True)
        after = dataclasses.replace(
            before,
            email=self._sealed(customer_id, ChannelKind.EMAIL, email and normalise_email(email)),
            phone=self._sealed(customer_id, ChannelKind.SMS, phone and normalise_phone(phone)),
            locale=locale,
        )
        payload = {
            "email": _change(before.email, after.email),
            "phone": _change(before.phone, after.phone),
            "locale": locale.value,
        }
        self._save(after, AuditKind.CUSTOMER_CONTACTS_SET, payload)
        return self._contacts_view(after)

    def preferences(self, customer_id: str) -> PreferencesView:
        return self._preferences_view(self._profile(customer_id))

    def set_preferences(
        self, customer_id: str, *, enabled: Iterable[NoticeKind], disabled: Iterable[NoticeKind]
    ) -> PreferencesView:
        turned_off = check_disabled(disabled)
        turned_on = sorted(set(enabled) & OPTIONAL_KINDS - set(turned_off))
        before = self._profile(customer_id, lock=True)
        after = dataclasses.replace(
            before, enabled=frozenset(turned_on), disabled=frozenset(turned_off)
        )
        payload = {
            "enabled": [k.value for k in turned_on],
            "disabled": [k.value for k in turned_off],
        }
        self._save(after, AuditKind.CUSTOMER_PREFERENCES_SET, payload)
        return self._preferences_view(after)

    def inbox(self, customer_id: str, *, limit: int, before: int | None) -> list[InboxRow]:
        """Newest first; `before` is the id of the last message of the previous page."""
        query = select(InboxRow).where(InboxRow.customer_id == customer_id)
        if before is not None:
            query = query.where(InboxRow.id < before)
        return list(
            self._session.execute(query.order_by(InboxRow.id.desc()).limit(limit)).scalars()
        )

    def _profile(self, customer_id: str, *, lock: bool = False) -> Profile:
        if lock:  # the decision path rewrites profiles under the same lock
            audit.lock_head(self._session)
        found = load_profiles(self._session.connection(), [customer_id])
        return found.get(customer_id) or Profile(customer_id)

    def _save(self, profile: Profile, kind: AuditKind, payload: Mapping[str, object]) -> None:
        save_profiles(self._session.connection(), [profile], self._at)
        audit.append(
            self._session,
            kind=kind,
            actor=self._actor,
            subject=profile.customer_id,
            payload=payload,
            at=self._at,
        )

    def _sealed(self, customer_id: str, channel: ChannelKind, value: str | None) -> Sealed | None:
        return seal(self._cipher, customer_id, channel, value) if value else None

    def _contacts_view(self, profile: Profile) -> ContactsView:
        email = self._reveal(profile, ChannelKind.EMAIL)
        phone = self._reveal(profile, ChannelKind.SMS)
        return ContactsView(
            profile.customer_id,
            mask_email(email) if email else None,
            mask_tail(phone) if phone else None,
            profile.locale,
        )

    def _reveal(self, profile: Profile, channel: ChannelKind) -> str | None:
        sealed = profile.contact(channel)
        if sealed is None:
            return None
        try:
            context = contact_context(profile.customer_id, channel)
            return self._cipher.decrypt(sealed.ciphertext, context=context)
        except UndecryptableValue:
            return "?@undecryptable" if channel is ChannelKind.EMAIL else "????"

    def _preferences_view(self, profile: Profile) -> PreferencesView:
        optional = profile.optional_kinds(self._defaults)
        receives = sorted(kind for kind in NoticeKind if not kind.optional or kind in optional)
        return PreferencesView(
            profile.customer_id,
            tuple(sorted(profile.enabled)),
            tuple(sorted(profile.disabled)),
            tuple(receives),
        )


def _change(before: Sealed | None, after: Sealed | None) -> str:
    if before is None and after is None:
        return "none"
    if after is None:
        return "removed"
    return "unchanged" if before is not None and before.digest == after.digest else "set"
