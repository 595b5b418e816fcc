"""Notices into messages: Jinja2 templates per locale, autoescaped HTML, late rendering.

Rendering happens in the dispatcher, from the facts stored on the outbox row, so it costs the
decision path nothing and every re-send of a message renders the same text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from kabuguard.notifications.kinds import ChannelKind, Locale, NoticeKind
from kabuguard.notifications.origin import device_summary, origin_of
from kabuguard.notifications.wording import WORDS, Words

JST = ZoneInfo("Asia/Tokyo")
K = NoticeKind
_NO_OUTCOME = frozenset({K.ACCOUNT_LOCK_LIFTED, K.ACCOUNT_LOCK_SET, K.ORDER_EXECUTED})
_ORDERS = frozenset({K.ORDER_PLACED, K.ORDER_PROFILE_UNUSUAL})
_LOGINS = frozenset(
    {K.LOGIN_ATTEMPT_REFUSED, K.LOGIN_DEVICE_KNOWN, K.LOGIN_DEVICE_NEW, K.LOGIN_STEP_UP_REQUESTED}
)


@dataclass(frozen=True, slots=True)
class Broker:
    name: str
    phone: str
    public_base_url: str

    def freeze_url(self, token: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/freeze/{token}"


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str | None


class Renderer:
    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._env = Environment(
            loader=PackageLoader("kabuguard.notifications", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # packaged templates never change: no stat() per message
        )

    def render(
        self,
        kind: NoticeKind,
        locale: Locale,
        context: Mapping[str, Any],
        channel: ChannelKind,
        freeze_token: str | None = None,
    ) -> Rendered:
        words = WORDS[locale]
        broker = self._broker
        headline = headline_of(kind, words, context)
        subject = f"[{broker.name}] {headline}"
        page: dict[str, Any] = {
            "subject": subject,
            "headline": headline,
            "note": words.notes.get(kind, "").format(broker=broker.name, phone=broker.phone),
            "facts": facts(kind, words, locale, context),
            "what": _what(kind, words, context),
            "when": when(context["occurred_at"], words, "when_short"),
            "broker": broker.name,
            "phone": broker.phone,
            "freeze_url": broker.freeze_url(freeze_token) if freeze_token else None,
        }
        if channel is ChannelKind.EMAIL:
            return Rendered(
                subject,
                self._page(locale, "email.txt.j2", page),
                self._page(locale, "email.html.j2", page),
            )
        if channel is ChannelKind.INBOX:
            text = self._page(locale, "email.txt.j2", page | {"freeze_url": None})
            return Rendered(subject, text, None)
        return Rendered(subject, self._page(locale, "short.txt.j2", page).strip(), None)

    def _page(self, locale: Locale, name: str, page: Mapping[str, Any]) -> str:
        return self._env.get_template(f"{locale.value}/{name}").render(page)


def headline_of(kind: NoticeKind, words: Words, context: Mapping[str, Any]) -> str:
    # A recovery code "used" is a fact whatever the verdict: the code is spent.
    done = context.get("outcome", "allow") == "allow" or context.get("action") == "used"
    if not done and kind in words.requested:
        return words.requested[kind]
    return words.headlines[kind]


def facts(
    kind: NoticeKind, words: Words, locale: Locale, context: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """The rows of a notice: when, what, result, from where, which device, cautions."""
    labels = words.labels
    rows = [(labels["when"], when(context["occurred_at"], words))]
    what = _what(kind, words, context)
    if what:
        rows.append((labels["what"], what))
    if kind not in _NO_OUTCOME:
        rows.append((labels["outcome"], _value(words, "outcome", context["outcome"])))
    if "ip" in context:
        rows.append((labels["from"], _from(context["ip"], words, locale)))
    if "user_agent" in context:
        device = device_summary(context["user_agent"]) or words.values["unknown"]
        rows.append((labels["device"], device))
    rows += [(labels["caution"], reason[locale.value]) for reason in context.get("reasons", ())]
    return rows


def when(occurred_at: str, words: Words, pattern: str = "when") -> str:
    at = datetime.fromisoformat(occurred_at).astimezone(JST)
    return words.patterns[pattern].format(
        year=at.year,
        month=at.month,
        day=at.day,
        weekday=words.weekdays[at.weekday()],
        hh=f"{at.hour:02}",
        mm=f"{at.minute:02}",
    )


def _what(kind: NoticeKind, words: Words, c: Mapping[str, Any]) -> str | None:
    p = words.patterns
    if kind in _LOGINS:
        return (
            p["factor"].format(factor=_value(words, "factor", c["factor"]))
            if "factor" in c
            else None
        )
    if kind in _ORDERS or kind is K.ORDER_EXECUTED:
        trade = {
            "side": _value(words, "side", c["side"]),
            "symbol": c["symbol"],
            "market": c["market"],
            "quantity": f"{c['quantity']:,}",
        }
        if kind is K.ORDER_EXECUTED:
            return p["execution"].format(**trade, price=_money(words, c["price"], c["currency"]))
        if "limit_price" in c:
            price = _money(words, c["limit_price"], c["currency"])
            return p["order_limit"].format(**trade, price=price)
        return p["order_market"].format(**trade)
    if kind is K.ORDER_CANCELLED:
        return p["cancellation"].format(order_id=c["order_id"])
    if kind is K.WITHDRAWAL_REQUESTED:
        return _money(words, c["amount"], c["currency"])
    if kind is K.PAYOUT_DESTINATION_CHANGED:
        account_type = _value(words, "account_type", c["account_type"])
        return p["payout"].format(**(dict(c) | {"account_type": account_type}))
    if kind is K.CONTACT_DETAILS_CHANGED:
        contact = _value(words, "contact", c["contact"])
        if "new_value" in c:
            return p["contact_new"].format(contact=contact, new_value=c["new_value"])
        return p["contact"].format(contact=contact)
    if kind is K.CREDENTIAL_FACTOR_CHANGED:
        credential = _value(words, "credential", c["credential"])
        return p["credential"].format(
            credential=credential, action=_value(words, "action", c["action"])
        )
    return p["lock"].format(initiated_by=_value(words, "initiated_by", c["initiated_by"]))


def _from(ip: str, words: Words, locale: Locale) -> str:
    origin = origin_of(ip, locale)
    if origin.ip is None:
        return words.values["unknown"]
    where = " / ".join(part for part in (origin.country, origin.network) if part)
    if not where:
        return words.patterns["from_unknown"].format(ip=origin.ip)
    return words.patterns["from"].format(ip=origin.ip, where=where)


def _money(words: Words, amount: str, currency: str) -> str:
    text = format(Decimal(amount).normalize(), ",f")
    pattern = words.patterns.get(f"money_{currency}", words.patterns["money"])
    return pattern.format(amount=text, currency=currency)


def _value(words: Words, field: str, value: str) -> str:
    return words.values.get(f"{field}:{value}", value)
