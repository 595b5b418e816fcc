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
    CONTACT_ACCOUNT_DORMANT = "contact:account:dormant"
    CUSTOMER_LOCK_ACTIVE = "customer:lock:active"
    CUSTOMER_LOCK_NOT_OWN = "customer:lock:not_own"
    LOGIN_CREDENTIALS_EXPOSED = "login:credentials:exposed"
    LOGIN_DEVICE_AUTOMATION = "login:device:automation"
    LOGIN_DEVICE_KNOWN_AGENT = "login:device:known_agent"
    LOGIN_DEVICE_MISSING = "login:device:missing"
    LOGIN_DEVICE_NEW = "login:device:new"
    LOGIN_HISTORY_DORMANT = "login:history:dormant"
    LOGIN_HISTORY_NONE = "login:history:none"
    LOGIN_HISTORY_UNFAMILIAR = "login:history:unfamiliar"
    LOGIN_HISTORY_VERY_UNFAMILIAR = "login:history:very_unfamiliar"
    LOGIN_NETWORK_FOREIGN = "login:network:foreign"
    LOGIN_NETWORK_HOSTING = "login:network:hosting"
    LOGIN_NETWORK_UNKNOWN = "login:network:unknown"
    LOGIN_NETWORK_VPN = "login:network:vpn"
    LOGIN_RELAY_CONCURRENT = "login:relay:concurrent"
    LOGIN_RELAY_FACTOR_NETWORK = "login:relay:factor_network"
    LOGIN_RELAY_HOSTING = "login:relay:hosting"
    LOGIN_SOFTWARE_UNKNOWN = "login:software:unknown"
    LOGIN_STUFFING_BURST = "login:stuffing:burst"
    LOGIN_STUFFING_SUCCESS = "login:stuffing:success"
    LOGIN_TRAVEL_IMPOSSIBLE = "login:travel:impossible"
    NETWORK_IP_BLOCKED = "network:ip:blocked"
    NETWORK_IP_UNPARSEABLE = "network:ip:unparseable"
    ORDER_COORDINATION_PIVOT = "order:coordination:pivot"
    ORDER_COORDINATION_SYMBOL = "order:coordination:symbol"
    ORDER_CURRENCY_MISMATCH = "order:currency:mismatch"
    ORDER_FIRST_MARKET = "order:first:market"
    ORDER_FIRST_SYMBOL = "order:first:symbol"
    ORDER_PRICE_FAR_ABOVE_CLOSE = "order:price:far_above_close"
    ORDER_PRICE_FAR_ABOVE_LAST = "order:price:far_above_last"
    ORDER_PRICE_NEAR_LIMIT_UP = "order:price:near_limit_up"
    ORDER_PRICE_STALE = "order:price:stale"
    ORDER_PRICE_ZERO = "order:price:zero"
    ORDER_PRODUCT_RESTRICTED = "order:product:restricted"
    ORDER_PROFILE_LIQUIDATE_THEN_BUY = "order:profile:liquidate_then_buy"
    ORDER_PROFILE_THIN_SYMBOL = "order:profile:thin_symbol"
    ORDER_PROFILE_VALUE = "order:profile:value"
    ORDER_QUANTITY_LISTED_SHARES = "order:quantity:listed_shares"
    ORDER_QUANTITY_ODD_LOT = "order:quantity:odd_lot"
    ORDER_QUANTITY_VOLUME = "order:quantity:volume"
    ORDER_SESSION_RISKY = "order:session:risky"
    ORDER_SYMBOL_HALTED = "order:symbol:halted"
    ORDER_SYMBOL_LOW_PRICED = "order:symbol:low_priced"
    ORDER_SYMBOL_UNKNOWN = "order:symbol:unknown"
    PAYOUT_ACCOUNT_SHARED = "payout:account:shared"
    PAYOUT_DESTINATION_COOLING_OFF = "payout:destination:cooling_off"
    PAYOUT_FACTOR_REQUIRED = "payout:factor:required"
    PAYOUT_HOLDER_MISMATCH = "payout:holder:mismatch"
    REFERENCE_PRICE_ZERO = "reference:price:zero"
    RESTRICTION_BUY_ACTIVE = "restriction:buy:active"
    RESTRICTION_CHANGE_CONTACT_ACTIVE = "restriction:change_contact:active"
    RESTRICTION_CHANGE_PAYOUT_ACTIVE = "restriction:change_payout:active"
    RESTRICTION_LOGIN_ACTIVE = "restriction:login:active"
    RESTRICTION_SELL_ACTIVE = "restriction:sell:active"
    RESTRICTION_WITHDRAW_ACTIVE = "restriction:withdraw:active"
    SESSION_ACTION_FAST = "session:action:fast"
    SESSION_LOGIN_RISKY = "session:login:risky"
    SESSION_NETWORK_CHANGED = "session:network:changed"
    WITHDRAWAL_AMOUNT_UNUSUAL = "withdrawal:amount:unusual"
    WITHDRAWAL_DESTINATION_COOLING_OFF = "withdrawal:destination:cooling_off"
    WITHDRAWAL_DESTINATION_REFUSED = "withdrawal:destination:refused"
    WITHDRAWAL_LOGIN_RISKY = "withdrawal:login:risky"


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
    ReasonCode.CUSTOMER_LOCK_NOT_OWN: Message(
        ja="このロックは当社が設定したものです。お客様の操作では解除できません。"
        "お手数ですが、お問い合わせ窓口までご連絡ください。",
        en="This lock was set by us, not by the customer, so it cannot be lifted this way; "
        "please contact us.",
    ),
    ReasonCode.LOGIN_CREDENTIALS_EXPOSED: Message(
        ja="お客様のログイン情報が外部に流出したリストに"
        "含まれていました。パスワードを再設定するまで、"
        "パスキーでのみログインできます。",
        en="Your sign-in details were found on a leaked list: until the password is reset, only "
        "a passkey can sign in.",
    ),
    ReasonCode.LOGIN_DEVICE_AUTOMATION: Message(
        ja="自動化ツールまたはヘッドレスブラウザからのログインです（{browser}）。",
        en="The login came from an automation tool or headless browser ({browser}).",
    ),
    ReasonCode.LOGIN_DEVICE_KNOWN_AGENT: Message(
        ja="お客様がお使いの端末とまったく同じブラウザ（{browser}）ですが、端末IDが異なります"
        "（ブラウザの偽装の疑い）。",
        en="A new device presents exactly the browser string of one of this customer's devices "
        "({browser}); the browser may be mimicked.",
    ),
    ReasonCode.LOGIN_DEVICE_MISSING: Message(
        ja="端末IDがないため、端末は不明として扱いました。",
        en="No device id was sent; the device was treated as unknown.",
    ),
    ReasonCode.LOGIN_DEVICE_NEW: Message(
        ja="このお客様がこれまで使ったことのない端末からのログインです。",
        en="The login came from a device this customer has not used before.",
    ),
    ReasonCode.LOGIN_HISTORY_DORMANT: Message(
        ja="{days}日ぶりのログインです。",
        en="This is the first login in {days} days.",
    ),
    ReasonCode.LOGIN_HISTORY_NONE: Message(
        ja="比較できるログイン履歴がありません（初回、または6か月以上ログインがありません）。",
        en="There is no login history to compare with (a first login, or none for six months).",
    ),
    ReasonCode.LOGIN_HISTORY_UNFAMILIAR: Message(
        ja="接続元・端末・時間帯が、このお客様の普段のログインと異なります。",
        en="The network, device or time of day differs from this customer's usual logins.",
    ),
    ReasonCode.LOGIN_HISTORY_VERY_UNFAMILIAR: Message(
        ja="接続元・端末・時間帯が、このお客様の普段のログインと大きく異なります。",
        en="The network, device and time of day differ strongly from this customer's usual logins.",
    ),
    ReasonCode.LOGIN_NETWORK_FOREIGN: Message(
        ja="国外（{country}）からのログインです。",
        en="The login came from abroad ({country}).",
    ),
    ReasonCode.LOGIN_NETWORK_HOSTING: Message(
        ja="クラウド・データセンターのネットワーク（{asn}）からのログインです。",
        en="The login came from a cloud or data-centre network ({asn}).",
    ),
    ReasonCode.LOGIN_NETWORK_UNKNOWN: Message(
        ja="接続元ネットワークを特定できないため、不明として扱いました（理由: {reason}）。",
        en="The source network could not be identified and was treated as unknown ({reason}).",
    ),
    ReasonCode.LOGIN_NETWORK_VPN: Message(
        ja="VPNの出口（{asn}）からのログインで、このお客様は普段VPNを使っていません。",
        en="The login came through a VPN exit ({asn}); this customer does not usually use one.",
    ),
    ReasonCode.LOGIN_RELAY_CONCURRENT: Message(
        ja="{seconds}秒前に別のネットワークからこのお客様のログインがありました"
        "（フィッシングサイトによる中継の疑い）。",
        en="This customer logged in from another network {seconds} s earlier (a phishing "
        "relay is suspected).",
    ),
    ReasonCode.LOGIN_RELAY_FACTOR_NETWORK: Message(
        ja="パスワードと認証コードが異なるネットワークから入力されました（中継の疑い）。",
        en="The password and the one-time code came from different networks (a relay is "
        "suspected).",
    ),
    ReasonCode.LOGIN_RELAY_HOSTING: Message(
        ja="普段は家庭・携帯回線のお客様が、クラウドのネットワーク（{asn}）からログインしました"
        "（中継の疑い）。",
        en="A customer who uses home and mobile networks logged in from a cloud network "
        "({asn}); a relay is suspected.",
    ),
    ReasonCode.LOGIN_SOFTWARE_UNKNOWN: Message(
        ja="ユーザーエージェントを解釈できないため、ブラウザは不明として扱いました"
        "（理由: {reason}）。",
        en="The user agent could not be interpreted; the browser was treated as unknown "
        "({reason}).",
    ),
    ReasonCode.LOGIN_STUFFING_BURST: Message(
        ja="この接続元（{key}）から多数のアカウントへのログイン失敗が続いています"
        "（リスト型攻撃の疑い）。",
        en="Many failed logins to many accounts are coming from this source ({key}); credential "
        "stuffing is suspected.",
    ),
    ReasonCode.LOGIN_STUFFING_SUCCESS: Message(
        ja="リスト型攻撃の最中に、この接続元（{key}）からパスワードが一致しました。"
        "パスワードは漏えいしたものとして扱います。",
        en="The password matched from a source ({key}) in the middle of a credential-stuffing "
        "burst; the password is treated as leaked.",
    ),
    ReasonCode.LOGIN_TRAVEL_IMPOSSIBLE: Message(
        ja="{hours}時間前は{previous}からのログインで、{country}へは移動できない時間です。",
        en="The previous login came from {previous} {hours} h ago: too soon to be in {country}.",
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
    ReasonCode.SESSION_ACTION_FAST: Message(
        ja="リスクのあるログインから{seconds}秒で重"
        "要な操作（売却・出金・出金先変更）が行われました。",
        en="A sensitive action (sale, withdrawal or payout change) came {seconds} s after a "
        "risky login.",
    ),
    ReasonCode.SESSION_LOGIN_RISKY: Message(
        ja="このセッションのログインにリスクがあるため、売却以"
        "外の操作（{capability}）は制限されます。",
        en="The login of this session was risky: actions other than selling ({capability}) "
        "are restricted.",
    ),
    ReasonCode.SESSION_NETWORK_CHANGED: Message(
        ja="ログイン時と異なるネットワーク（{asn}）からの操作です。",
        en="The session is being used from another network ({asn}) than the one it logged in from.",
    ),
    ReasonCode.CONTACT_ACCOUNT_DORMANT: Message(
        ja="{months}か月以上ログインのないアカウントの連"
        "絡先変更です。以前の連絡先で確認できるまで保留します。",
        en="A contact change on an account with no login for {months} months or more: it is "
        "held until confirmed through the previous contact.",
    ),
    ReasonCode.ORDER_COORDINATION_PIVOT: Message(
        ja="このアカウントは、銘柄 {symbol} の組織的な"
        "買付に使われた接続元・端末からアクセスされています。",
        en="This account was reached from a network or device used in coordinated buying of "
        "{symbol}.",
    ),
    ReasonCode.ORDER_COORDINATION_SYMBOL: Message(
        ja="銘柄 {symbol} に多数のアカウントから短時間に買付が"
        "集中しています（{buyers}件、通常{normal}件）。",
        en="Many accounts are buying {symbol} within minutes ({buyers} weighted buyers; "
        "usually {normal}).",
    ),
    ReasonCode.ORDER_CURRENCY_MISMATCH: Message(
        ja="注文の通貨（{currency}）が市場 {market} の通貨（{expected}）と一致しません。",
        en="The order's currency ({currency}) does not match the currency of {market} "
        "({expected}).",
    ),
    ReasonCode.ORDER_FIRST_MARKET: Message(
        ja="このお客様が初めて取引する市場（{market}）です。",
        en="This customer has not traded on {market} before.",
    ),
    ReasonCode.ORDER_FIRST_SYMBOL: Message(
        ja="このお客様が初めて取引する銘柄（{symbol}）です。",
        en="This customer has not traded {symbol} before.",
    ),
    ReasonCode.ORDER_PRICE_FAR_ABOVE_CLOSE: Message(
        ja="銘柄 {symbol} は前日終値から{percent}%上昇しています。",
        en="{symbol} trades {percent} % above its previous close.",
    ),
    ReasonCode.ORDER_PRICE_FAR_ABOVE_LAST: Message(
        ja="指値（{limit}）が直近の株価（{last}）より{percent}%高く設定されています。",
        en="The limit price ({limit}) is {percent} % above the last price ({last}).",
    ),
    ReasonCode.ORDER_PRICE_NEAR_LIMIT_UP: Message(
        ja="指値（{limit}）がストップ高（{limit_up}）付近に設定されています。",
        en="The limit price ({limit}) is at or near the daily limit-up ({limit_up}).",
    ),
    ReasonCode.ORDER_PRICE_STALE: Message(
        ja="銘柄 {symbol} の株価情報が{minutes}分以上更"
        "新されていないため、前日終値と値幅制限も参照して判断しました。",
        en="The last price of {symbol} is more than {minutes} minutes old; the previous "
        "close and the daily limits were used as well.",
    ),
    ReasonCode.ORDER_PRICE_ZERO: Message(
        ja="指値が0です。注文内容を確認してください。",
        en="The limit price is zero; the order cannot be valid.",
    ),
    ReasonCode.ORDER_PRODUCT_RESTRICTED: Message(
        ja="お客様のご希望により、{market} の取引は制限されています。",
        en="At the customer's request, trading on {market} is restricted.",
    ),
    ReasonCode.ORDER_PROFILE_LIQUIDATE_THEN_BUY: Message(
        ja="直前に保有株を売却し（{sold}円）、その資金で普段と"
        "異なる銘柄 {symbol} を買い付けようとしています。",
        en="Holdings were just sold (JPY {sold}) and the proceeds are going into {symbol}, "
        "unlike this customer's usual trading.",
    ),
    ReasonCode.ORDER_PROFILE_THIN_SYMBOL: Message(
        ja="普段は取引のない低位・低流動性の銘柄（{symbol}）の買付です。",
        en="A buy of a low-priced or thinly traded name ({symbol}) this customer does not "
        "usually trade.",
    ),
    ReasonCode.ORDER_PROFILE_VALUE: Message(
        ja="注文金額（約{value}円）が、このお客様の普段の取"
        "引（最大約{largest}円）を大きく上回っています。",
        en="The order value (about JPY {value}) is far above this customer's usual orders (at "
        "most about JPY {largest}).",
    ),
    ReasonCode.ORDER_QUANTITY_LISTED_SHARES: Message(
        ja="注文数量が発行済株式数の{percent}%に当たります。",
        en="The quantity is {percent} % of the listed shares.",
    ),
    ReasonCode.ORDER_QUANTITY_ODD_LOT: Message(
        ja="数量（{quantity}）が売買単位（{lot}）の倍数ではありません。",
        en="The quantity ({quantity}) is not a multiple of the trading lot ({lot}).",
    ),
    ReasonCode.ORDER_QUANTITY_VOLUME: Message(
        ja="注文数量が銘柄 {symbol} の平均売買高の{percent}%に当たります。",
        en="The quantity is {percent} % of {symbol}'s average daily volume.",
    ),
    ReasonCode.ORDER_SESSION_RISKY: Message(
        ja="リスクのあるログイン（スコア{score}）のセッションからの買付です。",
        en="The buy comes from a session whose login was risky (score {score}).",
    ),
    ReasonCode.ORDER_SYMBOL_LOW_PRICED: Message(
        ja="銘柄 {symbol} は低位株または流動性の低い銘柄です。",
        en="{symbol} is low-priced or thinly traded.",
    ),
    ReasonCode.ORDER_SYMBOL_UNKNOWN: Message(
        ja="銘柄 {symbol}（{market}）の銘柄情報がありません。",
        en="There is no reference data for {symbol} on {market}.",
    ),
    ReasonCode.PAYOUT_ACCOUNT_SHARED: Message(
        ja="この出金先口座は他の{customers}名のお客様も登録しています（不正な受取口座の疑い）。",
        en="This bank account is also registered by {customers} other customer(s): a likely "
        "mule account.",
    ),
    ReasonCode.PAYOUT_FACTOR_REQUIRED: Message(
        ja="出金先の変更にはパスキーによる承認（取引認証）が必要です。",
        en="Changing the payout destination needs approval with a passkey (transaction signing).",
    ),
    ReasonCode.PAYOUT_HOLDER_MISMATCH: Message(
        ja="出金先口座の名義がお客様の登録名義と一致しません。",
        en="The bank account's holder name does not match the customer's registered name.",
    ),
    ReasonCode.REFERENCE_PRICE_ZERO: Message(
        ja="銘柄 {symbol} の株価が0で通知されたため、直近の株価として採用しませんでした。",
        en="A price of zero was reported for {symbol}; it was not taken as the last price.",
    ),
    ReasonCode.WITHDRAWAL_AMOUNT_UNUSUAL: Message(
        ja="出金額（{amount}円）が、このお客様の普段の出"
        "金（最大{largest}円）を大きく上回っています。",
        en="The amount (JPY {amount}) is far above this customer's usual withdrawals (at most "
        "JPY {largest}).",
    ),
    ReasonCode.WITHDRAWAL_DESTINATION_COOLING_OFF: Message(
        ja="出金先が{until}まで変更後の確認期間中のため、出金を保留します。",
        en="The destination was changed recently and is cooling off until {until}; the "
        "withdrawal is held.",
    ),
    ReasonCode.WITHDRAWAL_DESTINATION_REFUSED: Message(
        ja="この出金先への変更は承認されていないため、出金を保留します。",
        en="The change to this destination was not approved; the withdrawal is held.",
    ),
    ReasonCode.WITHDRAWAL_LOGIN_RISKY: Message(
        ja="リスクのあるログイン（スコア{score}）から{hours}時間以内の出金のため、保留します。",
        en="A withdrawal within {hours} h of a risky login (score {score}) is held.",
    ),
}
