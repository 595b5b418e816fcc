"""Taxonomies of notifications: notice kinds, channels, statuses, locales (no imports)."""

from __future__ import annotations

from enum import StrEnum


class NoticeKind(StrEnum):
    """What a notice tells the customer; grammar `scope:subject:detail`, alphabetised."""

    ACCOUNT_LOCK_LIFTED = "account:lock:lifted"
    ACCOUNT_LOCK_SET = "account:lock:set"
    CONTACT_DETAILS_CHANGED = "contact:details:changed"
    CREDENTIAL_FACTOR_CHANGED = "credential:factor:changed"
    LOGIN_ATTEMPT_REFUSED = "login:attempt:refused"
    LOGIN_DEVICE_KNOWN = "login:device:known"
    LOGIN_DEVICE_NEW = "login:device:new"
    LOGIN_STEP_UP_REQUESTED = "login:step_up:requested"
    ORDER_CANCELLED = "order:cancelled"
    ORDER_EXECUTED = "order:executed"
    ORDER_PLACED = "order:placed"
    ORDER_PROFILE_UNUSUAL = "order:profile:unusual"
    PAYOUT_DESTINATION_CHANGED = "payout:destination:changed"
    WITHDRAWAL_REQUESTED = "withdrawal:requested"

    @property
    def optional(self) -> bool:
        """Optional notices may be switched on or off; every other kind is a security notice."""
        return self in OPTIONAL_KINDS


# Everything else is required by NOTIF-1..3 / ACCT-3 and can never be turned off.
OPTIONAL_KINDS = frozenset({NoticeKind.LOGIN_DEVICE_KNOWN, NoticeKind.ORDER_CANCELLED})

# A lock notice offers no freeze link: the account is locked already, or was just unlocked by
# staff after the customer's identity was checked (AUTH-10).
WITHOUT_FREEZE_LINK = frozenset({NoticeKind.ACCOUNT_LOCK_SET, NoticeKind.ACCOUNT_LOCK_LIFTED})


class ChannelKind(StrEnum):
    EMAIL = "email"
    INBOX = "inbox"
    PUSH = "push"
    SMS = "sms"


class Status(StrEnum):
    DEAD = "dead"
    DELIVERED = "delivered"
    PENDING = "pending"


class Locale(StrEnum):
    EN = "en"
    JA = "ja"
