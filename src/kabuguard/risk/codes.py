"""Taxonomies of the decision model: outcomes, factor classes, capabilities, reason codes.

Reason codes follow the grammar `scope:subject:detail` and are kept alphabetised; every code
has a Japanese and an English message, which may name `{capability}`, `{until}`, `{symbol}` or
`{network}` and are filled in by the rule that raises the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """Ordered: allow < challenge < hold < deny. When several rules speak, the highest wins."""

    ALLOW = "allow"
    CHALLENGE = "challenge"
    HOLD = "hold"
    DENY = "deny"

    @property
    def rank(self) -> int:
        return _OUTCOME_RANK[self]

    @classmethod
    def highest(cls, outcomes: list[Outcome]) -> Outcome:
        return max(outcomes, key=lambda outcome: outcome.rank, default=cls.ALLOW)


_OUTCOME_RANK = {outcome: rank for rank, outcome in enumerate(Outcome)}


class FactorClass(StrEnum):
    ANY_MFA = "any_mfa"
    PHISHING_RESISTANT = "phishing_resistant"


class Action(StrEnum):
    """What the customer is trying to do; the policy names a required factor for each."""

    CONTACT_CHANGE = "contact_change"
    CREDENTIAL_CHANGE = "credential_change"
    LOGIN = "login"
    ORDER = "order"
    PAYOUT_CHANGE = "payout_change"
    WITHDRAWAL = "withdrawal"


class Capability(StrEnum):
    """What a restriction can take away from a customer for a while."""

    BUY = "buy"
    CHANGE_CONTACT = "change_contact"
    CHANGE_PAYOUT = "change_payout"
    LOGIN = "login"
    SELL = "sell"
    WITHDRAW = "withdraw"


class ReasonCode(StrEnum):
    CUSTOMER_LOCK_ACTIVE = "customer:lock:active"
    NETWORK_IP_BLOCKED = "network:ip:blocked"
    NETWORK_IP_UNPARSEABLE = "network:ip:unparseable"
    ORDER_SYMBOL_HALTED = "order:symbol:halted"
    PAYOUT_DESTINATION_COOLING_OFF = "payout:destination:cooling_off"
    RESTRICTION_BUY_ACTIVE = "restriction:buy:active"
    RESTRICTION_CHANGE_CONTACT_ACTIVE = "restriction:change_contact:active"
    RESTRICTION_CHANGE_PAYOUT_ACTIVE = "restriction:change_payout:active"
    RESTRICTION_LOGIN_ACTIVE = "restriction:login:active"
    RESTRICTION_SELL_ACTIVE = "restriction:sell:active"
    RESTRICTION_WITHDRAW_ACTIVE = "restriction:withdraw:active"


RESTRICTION_REASON = {
    Capability.BUY: ReasonCode.RESTRICTION_BUY_ACTIVE,
    Capability.CHANGE_CONTACT: ReasonCode.RESTRICTION_CHANGE_CONTACT_ACTIVE,
    Capability.CHANGE_PAYOUT: ReasonCode.RESTRICTION_CHANGE_PAYOUT_ACTIVE,
    Capability.LOGIN: ReasonCode.RESTRICTION_LOGIN_ACTIVE,
    Capability.SELL: ReasonCode.RESTRICTION_SELL_ACTIVE,
    Capability.WITHDRAW: ReasonCode.RESTRICTION_WITHDRAW_ACTIVE,
}


@dataclass(frozen=True, slots=True)
class Message:
    ja: str
    en: str


_RESTRICTED = Message(
    ja="この操作（{capability}）は {until} まで制限されています。",
    en="This action ({capability}) is restricted until {until}.",
)

MESSAGES: dict[ReasonCode, Message] = {
    ReasonCode.CUSTOMER_LOCK_ACTIVE: Message(
        ja="お客様のアカウントはロック中です。ロックを解除するまで、ログイン、取引、出金、"
        "登録情報の変更はできません。",
        en="The account is locked: logins, orders, withdrawals and changes to account details "
        "are refused until it is unlocked.",
    ),
    ReasonCode.NETWORK_IP_BLOCKED: Message(
        ja="接続元のネットワーク（{network}）は遮断リストに登録されています。",
        en="The connecting network ({network}) is on the block list.",
    ),
    ReasonCode.NETWORK_IP_UNPARSEABLE: Message(
        ja="接続元IPアドレスを解釈できないため、接続元は不明として扱いました。",
        en="The source IP address could not be parsed; the source was treated as unknown.",
    ),
    ReasonCode.ORDER_SYMBOL_HALTED: Message(
        ja="銘柄 {symbol} は買付停止中です（売却は可能です）。",
        en="Buying {symbol} is halted (selling remains possible).",
    ),
    ReasonCode.PAYOUT_DESTINATION_COOLING_OFF: Message(
        ja="出金先が変更されたため、{until} まで出金を保留します。",
        en="The payout destination changed; withdrawals are held until {until}.",
    ),
    ReasonCode.RESTRICTION_BUY_ACTIVE: _RESTRICTED,
    ReasonCode.RESTRICTION_CHANGE_CONTACT_ACTIVE: _RESTRICTED,
    ReasonCode.RESTRICTION_CHANGE_PAYOUT_ACTIVE: _RESTRICTED,
    ReasonCode.RESTRICTION_LOGIN_ACTIVE: _RESTRICTED,
    ReasonCode.RESTRICTION_SELL_ACTIVE: _RESTRICTED,
    ReasonCode.RESTRICTION_WITHDRAW_ACTIVE: _RESTRICTED,
}
