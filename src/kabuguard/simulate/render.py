"""Event bodies as text: one builder per event type, shared by customers and attackers.

A body is the JSON object without its opening `{"event_id":...,` (the writer adds the id once
the line's position is known). Builders take columns (sequences) and return a list of bodies,
because customers are rendered a window at a time; attackers and the pump script use the
one-event forms at the end, which call the same builders. Sharing them means customer and
attacker lines cannot differ in layout, key order or number format: a detector must tell them
apart by behaviour alone. Every string embedded here comes from the simulator's own tables,
which are checked to need no JSON escaping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kabuguard.simulate.instruments import Instrument

_PRICE_FORMATS = ("%d", "%.1f", "%.2f", "%.3f")  # by decimal places
MARKET_ORDER = '"order_type":"market"'


class Quotes:
    """Pre-rendered symbol and currency fragments and the price format of every instrument."""

    def __init__(self, instruments: tuple[Instrument, ...]) -> None:
        self.symbol = [f'"symbol":"{i.symbol}","market":"{i.market}"' for i in instruments]
        self.currency = [f',"currency":"{i.currency}"}}' for i in instruments]
        self.price_format = [_PRICE_FORMATS[i.decimals] for i in instruments]

    def price(self, instrument: int, value: float) -> str:
        return self.price_format[instrument] % value

    def prices(self, instruments: Sequence[int], values: Sequence[float]) -> list[str]:
        formats = self.price_format
        return [formats[i] % v for i, v in zip(instruments, values, strict=True)]


def many_session_fields(
    whos: Sequence[str],
    sessions: Sequence[str],
    channels: Sequence[str],
    addresses: Sequence[str],
    *,
    agents: Sequence[str],
    devices: Sequence[str],
) -> list[str]:
    """`whos`: '"customer_id":"...",' or ''; `devices`: ',"device_id":"..."' or ''."""
    return [
        f'{w}"session_id":"{s}","channel":"{c}","ip":"{a}","user_agent":"{u}"{d}'
        for w, s, c, a, u, d in zip(
            whos, sessions, channels, addresses, agents, devices, strict=True
        )
    ]


def logins(
    stamps: Sequence[str],
    fields: Sequence[str],
    steps: Sequence[str],
    results: Sequence[str],
    extras: Sequence[str],
) -> list[str]:
    """`extras`: the optional fields, e.g. ',"factor":"totp"', or ''."""
    return [
        f'"type":"login_attempt","occurred_at":"{w}",{f},"step":"{s}","result":"{r}"{x}}}'
        for w, f, s, r, x in zip(stamps, fields, steps, results, extras, strict=True)
    ]


def login_extra(factor: str | None, username: str | None = None) -> str:
    extra = f',"factor":"{factor}"' if factor else ""
    return extra + (f',"attempted_username":"{username}"' if username else "")


def actions(
    kind: str, stamps: Sequence[str], fields: Sequence[str], tails: Sequence[str]
) -> list[str]:
    """Customer actions without order fields: each tail carries its own fields and the `}`."""
    return [
        f'"type":"{kind}","occurred_at":"{w}",{f}{x}'
        for w, f, x in zip(stamps, fields, tails, strict=True)
    ]


def orders(
    stamps: Sequence[str],
    fields: Sequence[str],
    order_ids: Sequence[str],
    *,
    sides: Sequence[str],
    symbols: Sequence[str],
    quantities: Sequence[int],
    priced: Sequence[str],
    currencies: Sequence[str],
) -> list[str]:
    """`priced`: MARKET_ORDER or limit_priced(...)."""
    return [
        f'"type":"order","occurred_at":"{w}",{f},"order_id":"{o}","side":"{s}",{y},'
        f'"quantity":{q},{p}{c}'
        for w, f, o, s, y, q, p, c in zip(
            stamps, fields, order_ids, sides, symbols, quantities, priced, currencies, strict=True
        )
    ]


def limit_priced(limit: str) -> str:
    return f'"order_type":"limit","limit_price":{limit}'


def executions(
    stamps: Sequence[str],
    customers: Sequence[str],
    order_ids: Sequence[str],
    *,
    sides: Sequence[str],
    symbols: Sequence[str],
    quantities: Sequence[int],
    prices: Sequence[str],
    currencies: Sequence[str],
) -> list[str]:
    return [
        f'"type":"execution","occurred_at":"{w}","customer_id":"{u}","order_id":"{o}",'
        f'"side":"{s}",{y},"quantity":{q},"price":{p}{c}'
        for w, u, o, s, y, q, p, c in zip(
            stamps,
            customers,
            order_ids,
            sides,
            symbols,
            quantities,
            prices,
            currencies,
            strict=True,
        )
    ]


def cancellations(
    stamps: Sequence[str], customers: Sequence[str], order_ids: Sequence[str]
) -> list[str]:
    return [
        f'"type":"cancellation","occurred_at":"{w}","customer_id":"{u}","order_id":"{o}"}}'
        for w, u, o in zip(stamps, customers, order_ids, strict=True)
    ]


def prices(
    stamps: Sequence[str], symbols: Sequence[str], lasts: Sequence[str], extras: Sequence[str]
) -> list[str]:
    """`extras`: ',"previous_close":...' at a session's open, else ''."""
    return [
        f'"type":"price","occurred_at":"{w}","channel":"system",{y},"last":{p}{x}}}'
        for w, y, p, x in zip(stamps, symbols, lasts, extras, strict=True)
    ]


def withdrawal_tail(withdrawal_id: str, amount: int, destination: str) -> str:
    return (
        f',"withdrawal_id":"{withdrawal_id}","amount":"{amount}","currency":"JPY",'
        f'"destination_id":"{destination}"}}'
    )


def payout_tail(
    destination: str, bank: str, branch: int, account: int, holder: str, *, approved_with: str = ""
) -> str:
    approval = f',"approved_with":"{approved_with}"' if approved_with else ""
    return (
        f',"destination_id":"{destination}","bank_code":"{bank}","branch_code":"{branch:03d}",'
        f'"account_type":"ordinary","account_number":"{account:07d}",'
        f'"holder_name_kana":"{holder}"{approval}}}'
    )


def contact_tail(contact: str, new_value: str | None = None) -> str:
    value = f',"new_value":"{new_value}"' if new_value else ""
    return f',"contact":"{contact}"{value}}}'


def credential_tail(credential: str, action_done: str) -> str:
    return f',"credential":"{credential}","action":"{action_done}"}}'


# One-event forms of the builders, for attackers and the pump script.


def session_fields(
    customer: str | None,
    session: str,
    *,
    address: str,
    agent: str,
    device: str | None,
    channel: str = "web",
) -> str:
    """The fields of a customer action; a login may name no customer (unknown username)."""
    who = f'"customer_id":"{customer}",' if customer else ""
    has_device = f',"device_id":"{device}"' if device else ""
    return many_session_fields(
        [who], [session], [channel], [address], agents=[agent], devices=[has_device]
    )[0]


def login(when: str, fields: str, step: str, result: str, extra: str = "") -> str:
    return logins([when], [fields], [step], [result], [extra])[0]


def action(kind: str, when: str, fields: str, tail: str = "}") -> str:
    return actions(kind, [when], [fields], [tail])[0]


@dataclass(frozen=True, slots=True)
class Trade:
    order_id: str
    side: str
    instrument: int
    quantity: int


def order(when: str, fields: str, trade: Trade, quotes: Quotes, limit: str | None) -> str:
    """`limit`: the limit price's text; None for a market order."""
    return orders(
        [when],
        [fields],
        [trade.order_id],
        sides=[trade.side],
        symbols=[quotes.symbol[trade.instrument]],
        quantities=[trade.quantity],
        priced=[MARKET_ORDER if limit is None else limit_priced(limit)],
        currencies=[quotes.currency[trade.instrument]],
    )[0]


def execution(when: str, customer: str, trade: Trade, quotes: Quotes, price: str) -> str:
    return executions(
        [when],
        [customer],
        [trade.order_id],
        sides=[trade.side],
        symbols=[quotes.symbol[trade.instrument]],
        quantities=[trade.quantity],
        prices=[price],
        currencies=[quotes.currency[trade.instrument]],
    )[0]


def price(when: str, quotes: Quotes, instrument: int, last: float) -> str:
    return prices([when], [quotes.symbol[instrument]], [quotes.price(instrument, last)], [""])[0]
