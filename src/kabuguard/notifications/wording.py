"""The words of every notice, in Japanese and English: short, plain, for older readers.

Templates (templates/<locale>/) hold the layout and the fixed advice; this module holds what
varies by notice kind and the names of values. No sentence here may contain a URL (COMMS-1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kabuguard.notifications.kinds import Locale, NoticeKind

K = NoticeKind


@dataclass(frozen=True, slots=True)
class Words:
    headlines: Mapping[NoticeKind, str]
    # A change not (yet) made: held, refused or waiting for a step-up. "Was changed" would be
    # false, and a customer told so of an attacker's refused change thinks the attack worked.
    requested: Mapping[NoticeKind, str]
    notes: Mapping[NoticeKind, str]  # one extra sentence for some kinds ({broker}, {phone})
    labels: Mapping[str, str]
    values: Mapping[str, str]  # side, outcome, credential … names, keyed "<field>:<value>"
    patterns: Mapping[str, str]  # how a kind's details read, filled with str.format
    weekdays: tuple[str, ...]


_JA = Words(
    headlines={
        K.ACCOUNT_LOCK_LIFTED: "口座のロックを解除しました",
        K.ACCOUNT_LOCK_SET: "口座をロックしました",
        K.CONTACT_DETAILS_CHANGED: "ご登録の連絡先が変更されました",
        K.CREDENTIAL_FACTOR_CHANGED: "ログインに使う認証情報が変更されました",
        K.LOGIN_ATTEMPT_REFUSED: "ログインをお断りしました",
        K.LOGIN_DEVICE_KNOWN: "ログインがありました",
        K.LOGIN_DEVICE_NEW: "新しい端末からログインがありました",
        K.LOGIN_STEP_UP_REQUESTED: "ログインのため追加の本人確認をお願いしました",
        K.ORDER_CANCELLED: "ご注文が取り消されました",
        K.ORDER_EXECUTED: "ご注文が約定しました",
        K.ORDER_PLACED: "ご注文がありました",
        K.ORDER_PROFILE_UNUSUAL: "普段と大きく異なるご注文がありました",
        K.PAYOUT_DESTINATION_CHANGED: "出金先の口座が変更されました",
        K.WITHDRAWAL_REQUESTED: "出金のご依頼がありました",
    },
    requested={
        K.CONTACT_DETAILS_CHANGED: "ご登録の連絡先を変更するお申し込みがありました",
        K.CREDENTIAL_FACTOR_CHANGED: "ログインに使う認証情報を変更するお申し込みがありました",
        K.PAYOUT_DESTINATION_CHANGED: "出金先の口座を変更するお申し込みがありました",
    },
    notes={
        K.ACCOUNT_LOCK_SET: "ロック中も、すでに出されているご注文（予約注文・積立など）は"
        "取り消されず、執行されることがあります。取り消しは {broker}（{phone}）へお電話ください。",
        K.LOGIN_STEP_UP_REQUESTED: "パスワードが正しく入力されたため、確認コードなどによる"
        "本人確認をお願いしました。ご自身の操作でなければ、コードを誰にも伝えないでください。",
        K.CONTACT_DETAILS_CHANGED: "このお知らせは変更前の連絡先にもお送りしています。",
    },
    labels={
        "when": "日時",
        "what": "内容",
        "outcome": "結果",
        "from": "接続元",
        "device": "端末",
        "caution": "ご注意",
    },
    values={
        "outcome:allow": "受け付けました",
        "outcome:challenge": "追加の本人確認をお願いしています",
        "outcome:hold": "確認のため保留しています",
        "outcome:deny": "お断りしました",
        "side:buy": "買い",
        "side:sell": "売り",
        "account_type:ordinary": "普通",
        "account_type:checking": "当座",
        "account_type:savings": "貯蓄",
        "contact:email": "メールアドレス",
        "contact:phone": "電話番号",
        "contact:address": "ご住所",
        "credential:password": "パスワード",
        "credential:passkey": "パスキー",
        "credential:totp": "認証アプリ",
        "credential:recovery_codes": "リカバリーコード",
        "credential:trading_pin": "取引暗証番号",
        "action:added": "追加",
        "action:removed": "削除",
        "action:reset": "再設定",
        "action:used": "使用",
        "initiated_by:customer": "お客様のご依頼",
        "initiated_by:broker": "当社",
        "initiated_by:staff": "当社担当者",
        "initiated_by:system": "自動処理",
        "factor:passkey": "パスキー",
        "factor:totp": "認証アプリ",
        "factor:sms_otp": "SMSの確認コード",
        "factor:email_otp": "メールの確認コード",
        "factor:push": "アプリ通知",
        "factor:recovery_code": "リカバリーコード",
        "unknown": "不明",
    },
    patterns={
        "when": "{year}年{month}月{day}日({weekday}) {hh}:{mm}（日本時間）",
        "when_short": "{month}月{day}日 {hh}:{mm}",
        "order_limit": "{side} {symbol}（{market}） {quantity}株 指値 {price}",
        "order_market": "{side} {symbol}（{market}） {quantity}株 成行",
        "execution": "{side} {symbol}（{market}） {quantity}株 約定単価 {price}",
        "cancellation": "注文番号 {order_id}",
        "payout": "金融機関コード {bank_code} 支店コード {branch_code} {account_type} "
        "{account_number}",
        "contact": "{contact}",
        "contact_new": "{contact} → {new_value}",
        "credential": "{credential}（{action}）",
        "factor": "認証方法: {factor}",
        "lock": "{initiated_by}",
        "money_JPY": "{amount}円",
        "money": "{amount} {currency}",
        "from": "{ip}（{where}）",
        "from_unknown": "{ip}（国・ネットワーク不明）",
    },
    weekdays=("月", "火", "水", "木", "金", "土", "日"),
)

_EN = Words(
    headlines={
        K.ACCOUNT_LOCK_LIFTED: "Your account has been unlocked",
        K.ACCOUNT_LOCK_SET: "Your account has been locked",
        K.CONTACT_DETAILS_CHANGED: "Your contact details were changed",
        K.CREDENTIAL_FACTOR_CHANGED: "Your sign-in credentials were changed",
        K.LOGIN_ATTEMPT_REFUSED: "A login was refused",
        K.LOGIN_DEVICE_KNOWN: "A login to your account",
        K.LOGIN_DEVICE_NEW: "A login from a new device",
        K.LOGIN_STEP_UP_REQUESTED: "We asked for extra verification at login",
        K.ORDER_CANCELLED: "An order was cancelled",
        K.ORDER_EXECUTED: "An order was executed",
        K.ORDER_PLACED: "An order was placed",
        K.ORDER_PROFILE_UNUSUAL: "An order very unlike your usual trading",
        K.PAYOUT_DESTINATION_CHANGED: "Your payout bank account was changed",
        K.WITHDRAWAL_REQUESTED: "A withdrawal was requested",
    },
    requested={
        K.CONTACT_DETAILS_CHANGED: "A change to your contact details was requested",
        K.CREDENTIAL_FACTOR_CHANGED: "A change to your sign-in credentials was requested",
        K.PAYOUT_DESTINATION_CHANGED: "A change to your payout bank account was requested",
    },
    notes={
        K.ACCOUNT_LOCK_SET: "Orders already placed (standing orders, savings plans) are not "
        "cancelled by the lock and may still be executed. To cancel them, call {broker} on "
        "{phone}.",
        K.LOGIN_STEP_UP_REQUESTED: "The correct password was entered, so we asked for a "
        "verification code or similar. If this was not you, never tell anyone that code.",
        K.CONTACT_DETAILS_CHANGED: "We also send this notice to your previous contact details.",
    },
    labels={
        "when": "When",
        "what": "What",
        "outcome": "Result",
        "from": "From",
        "device": "Device",
        "caution": "Note",
    },
    values={
        "outcome:allow": "accepted",
        "outcome:challenge": "extra verification requested",
        "outcome:hold": "held for review",
        "outcome:deny": "refused",
        "side:buy": "Buy",
        "side:sell": "Sell",
        "account_type:ordinary": "ordinary",
        "account_type:checking": "checking",
        "account_type:savings": "savings",
        "contact:email": "e-mail address",
        "contact:phone": "phone number",
        "contact:address": "postal address",
        "credential:password": "password",
        "credential:passkey": "passkey",
        "credential:totp": "authenticator app",
        "credential:recovery_codes": "recovery codes",
        "credential:trading_pin": "trading PIN",
        "action:added": "added",
        "action:removed": "removed",
        "action:reset": "reset",
        "action:used": "used",
        "initiated_by:customer": "at your request",
        "initiated_by:broker": "by us",
        "initiated_by:staff": "by our staff",
        "initiated_by:system": "automatically",
        "factor:passkey": "passkey",
        "factor:totp": "authenticator app",
        "factor:sms_otp": "SMS code",
        "factor:email_otp": "e-mail code",
        "factor:push": "app notification",
        "factor:recovery_code": "recovery code",
        "unknown": "unknown",
    },
    patterns={
        "when": "{weekday} {year}-{month:02}-{day:02} {hh}:{mm} JST",
        "when_short": "{year}-{month:02}-{day:02} {hh}:{mm} JST",
        "order_limit": "{side} {symbol} ({market}), {quantity} shares, limit {price}",
        "order_market": "{side} {symbol} ({market}), {quantity} shares, at market",
        "execution": "{side} {symbol} ({market}), {quantity} shares at {price}",
        "cancellation": "order {order_id}",
        "payout": "bank {bank_code}, branch {branch_code}, {account_type} account {account_number}",
        "contact": "{contact}",
        "contact_new": "{contact} changed to {new_value}",
        "credential": "{credential} {action}",
        "factor": "verified with: {factor}",
        "lock": "{initiated_by}",
        "money_JPY": "{amount} JPY",
        "money": "{amount} {currency}",
        "from": "{ip} ({where})",
        "from_unknown": "{ip} (country and network unknown)",
    },
    weekdays=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
)

WORDS: Mapping[Locale, Words] = {Locale.JA: _JA, Locale.EN: _EN}
