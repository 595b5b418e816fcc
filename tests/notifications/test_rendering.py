"""Every template in both languages and every format: readable, and no link but the freeze link.

COMMS-1 forbids any URL leading to a login or password page in mail and SMS; the test is
stricter: the only URL allowed anywhere is this message's own one-time freeze link.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from kabuguard.notifications.kinds import ChannelKind, Locale, NoticeKind
from kabuguard.notifications.kinds import NoticeKind as K
from kabuguard.notifications.notices import CustomerView, device_key, notices_for
from kabuguard.notifications.rendering import Broker, Renderer
from tests import factories as f
from tests.notifications import builders as b

BROKER = Broker("Example証券", "0120-111-222", "https://kabuguard.broker.example/")
TOKEN = "0" * 64 + ".secret-part-of-the-token"
FREEZE_URL = "https://kabuguard.broker.example/freeze/" + TOKEN
URL = re.compile(r"(?:https?://|www\.)[^\s\"'<>)）]+", re.IGNORECASE)
HREF = re.compile(r"""(?:href|src|action)\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
ALL_OPTIONAL = CustomerView(optional=frozenset({K.LOGIN_DEVICE_KNOWN, K.ORDER_CANCELLED}))


def _sample(kind: K) -> dict[str, Any]:
    """A real context for each kind, made by the mapping itself from a sample event."""
    login = f.login(factor="sms_otp")
    device = device_key(f.typed(login))
    assert device is not None
    known = CustomerView(frozenset({device}), optional=ALL_OPTIONAL.optional)
    events: dict[K, tuple[dict[str, Any], str, list[str], CustomerView]] = {
        K.LOGIN_DEVICE_NEW: (login, "allow", [], ALL_OPTIONAL),
        K.LOGIN_DEVICE_KNOWN: (login, "allow", [], known),
        K.LOGIN_STEP_UP_REQUESTED: (login, "challenge", [], ALL_OPTIONAL),
        K.LOGIN_ATTEMPT_REFUSED: (login, "deny", [], ALL_OPTIONAL),
        K.ORDER_PLACED: (f.order(order_type="market", limit_price=None), "allow", [], ALL_OPTIONAL),
        K.ORDER_PROFILE_UNUSUAL: (
            f.order(limit_price="164"),
            "hold",
            ["order:profile:x"],
            ALL_OPTIONAL,
        ),
        K.ORDER_EXECUTED: (b.execution(), "allow", [], ALL_OPTIONAL),
        K.ORDER_CANCELLED: (b.cancellation(), "allow", [], ALL_OPTIONAL),
        K.WITHDRAWAL_REQUESTED: (f.withdrawal(amount="3370000.5"), "hold", [], ALL_OPTIONAL),
        K.PAYOUT_DESTINATION_CHANGED: (f.payout_change(), "allow", [], ALL_OPTIONAL),
        K.CONTACT_DETAILS_CHANGED: (
            b.contact_change(new_value="someone@evil-login.example"),
            "allow",
            [],
            ALL_OPTIONAL,
        ),
        K.CREDENTIAL_FACTOR_CHANGED: (b.credential_change(), "allow", [], ALL_OPTIONAL),
        K.ACCOUNT_LOCK_SET: (f.lock(), "allow", [], ALL_OPTIONAL),
        K.ACCOUNT_LOCK_LIFTED: (f.unlock(), "allow", [], ALL_OPTIONAL),
    }
    event, outcome, codes, view = events[kind]
    reasons = [
        {"code": c, "message": {"ja": "通常と大きく異なる価格です", "en": "far from usual"}}
        for c in codes
    ]
    [notice] = notices_for(f.typed(event), {"outcome": outcome, "reasons": reasons}, view)
    assert notice.kind is kind
    return dict(notice.facts)


def _urls(text: str) -> set[str]:
    return set(URL.findall(text)) | set(HREF.findall(text))


@pytest.mark.parametrize("kind", list(NoticeKind))
@pytest.mark.parametrize("locale", list(Locale))
@pytest.mark.parametrize("channel", list(ChannelKind))
def test_every_template_renders_with_no_link_but_the_freeze_link(
    kind: K, locale: Locale, channel: ChannelKind
) -> None:
    rendered = Renderer(BROKER).render(kind, locale, _sample(kind), channel, TOKEN)
    texts = [rendered.subject, rendered.text, rendered.html or ""]
    allowed = {FREEZE_URL} if channel is ChannelKind.EMAIL else set()
    for text in texts:
        assert _urls(text) <= allowed, text
    assert "0120-111-222" in rendered.text  # what to do: call the broker
    assert rendered.subject.startswith("[Example証券] ")
    if channel is ChannelKind.EMAIL:
        assert FREEZE_URL in rendered.text
        assert f'href="{FREEZE_URL}"' in (rendered.html or "")
        assert "<script" not in (rendered.html or "")
    else:
        assert rendered.html is None


def test_a_message_says_what_when_and_from_where_in_japanese() -> None:
    context = _sample(K.ORDER_PLACED) | {"ip": "126.0.0.1", "limit_price": "2500", "quantity": 1000}
    text = Renderer(BROKER).render(K.ORDER_PLACED, Locale.JA, context, ChannelKind.EMAIL).text
    assert "ご注文がありました" in text
    assert "日時: 2026年11月20日(金) 09:00（日本時間）" in text  # 00:00 UTC is 09:00 JST
    assert "内容: 買い 7203（TSE） 1,000株 指値 2,500円" in text
    assert "接続元: 126.0.0.1（日本 / SoftBank Corp）" in text
    assert "端末: Chrome 131 / Windows 10" in text
    assert "パスワードや暗証番号の入力をお願いすることはありません" in text


def test_english_and_the_lock_notice_say_that_standing_orders_keep_running() -> None:
    text = (
        Renderer(BROKER)
        .render(K.ACCOUNT_LOCK_SET, Locale.EN, _sample(K.ACCOUNT_LOCK_SET), ChannelKind.EMAIL)
        .text
    )
    assert "Your account has been locked" in text
    assert "may still be executed" in text
    assert "When: Fri 2026-11-20 09:00 JST" in text


@pytest.mark.parametrize("outcome", ["challenge", "hold", "deny"])
@pytest.mark.parametrize(
    ("kind", "ja", "en"),
    [
        (
            K.PAYOUT_DESTINATION_CHANGED,
            "出金先の口座を変更するお申し込み",
            "payout bank account was requested",
        ),
        (
            K.CREDENTIAL_FACTOR_CHANGED,
            "認証情報を変更するお申し込み",
            "sign-in credentials was requested",
        ),
        (K.CONTACT_DETAILS_CHANGED, "連絡先を変更するお申し込み", "contact details was requested"),
    ],
)
def test_a_change_not_made_is_never_called_changed(kind: K, ja: str, en: str, outcome: str) -> None:
    context = _sample(kind) | {"outcome": outcome}
    japanese = Renderer(BROKER).render(kind, Locale.JA, context, ChannelKind.EMAIL)
    english = Renderer(BROKER).render(kind, Locale.EN, context, ChannelKind.SMS)
    assert ja in japanese.subject
    assert "変更されました" not in japanese.subject + japanese.text
    assert en in english.subject
    assert "was changed" not in english.text


def test_a_recovery_code_spent_is_told_as_done_whatever_the_verdict() -> None:
    event = f.typed(b.credential_change(credential="recovery_codes", action="used"))
    [notice] = notices_for(event, {"outcome": "challenge", "reasons": []}, ALL_OPTIONAL)
    rendered = Renderer(BROKER).render(notice.kind, Locale.EN, notice.facts, ChannelKind.EMAIL)
    assert rendered.subject.endswith("Your sign-in credentials were changed")


def test_attacker_controlled_fields_cannot_write_links_or_markup_into_the_message() -> None:
    hostile = _sample(K.LOGIN_DEVICE_NEW) | {
        "user_agent": "Mozilla/5.0 <b>call 0120-999-999</b> https://kabu-login.example/reset",
        "ip": "http://kabu-login.example",
    }
    rendered = Renderer(BROKER).render(K.LOGIN_DEVICE_NEW, Locale.EN, hostile, ChannelKind.EMAIL)
    for text in (rendered.text, rendered.html or ""):
        assert "kabu-login" not in text
        assert "0120-999-999" not in text
        assert "<b>" not in text
    assert "From: unknown" in rendered.text


def test_an_address_kabuguard_cannot_place_still_shows_the_ip() -> None:
    context = _sample(K.LOGIN_DEVICE_NEW) | {"ip": "203.0.113.7"}  # documentation range
    text = Renderer(BROKER).render(K.LOGIN_DEVICE_NEW, Locale.JA, context, ChannelKind.INBOX).text
    assert "接続元: 203.0.113.7（国・ネットワーク不明）" in text
