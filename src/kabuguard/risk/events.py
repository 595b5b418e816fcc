"""The canonical event schema: one frozen, validated model per event type.

The same models are the API's request schema, the replay file's line format and the risk
core's typed input (ADR 0002 says why one definition serves all three). Money and prices are
Decimals, quantities integers; every timestamp carries its zone; unknown fields are refused so
that a typo is an error rather than a silently ignored signal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from kabuguard.risk.money import decimal_text


class EventType(StrEnum):
    CANCELLATION = "cancellation"
    CONTACT_CHANGE = "contact_change"
    CREDENTIAL_CHANGE = "credential_change"
    CUSTOMER_LOCK = "customer_lock"
    CUSTOMER_UNLOCK = "customer_unlock"
    EXECUTION = "execution"
    INSTRUMENT = "instrument"
    LOGIN_ATTEMPT = "login_attempt"
    LOGOUT = "logout"
    ORDER = "order"
    PAYOUT_CHANGE = "payout_change"
    PRICE = "price"
    WITHDRAWAL = "withdrawal"


class Channel(StrEnum):
    API = "api"
    APP = "app"
    BRANCH = "branch"
    CALL_CENTRE = "call_centre"
    SYSTEM = "system"
    WEB = "web"


class LoginStep(StrEnum):
    PASSKEY = "passkey"
    PASSWORD = "password"
    SECOND_FACTOR = "second_factor"


class AttemptResult(StrEnum):
    FAILURE = "failure"
    SUCCESS = "success"


class Factor(StrEnum):
    EMAIL_OTP = "email_otp"
    PASSKEY = "passkey"
    PUSH = "push"
    RECOVERY_CODE = "recovery_code"
    SMS_OTP = "sms_otp"
    TOTP = "totp"


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class BankAccountType(StrEnum):
    CHECKING = "checking"
    ORDINARY = "ordinary"
    SAVINGS = "savings"


class ContactKind(StrEnum):
    ADDRESS = "address"
    EMAIL = "email"
    PHONE = "phone"


class CredentialKind(StrEnum):
    PASSKEY = "passkey"
    PASSWORD = "password"
    RECOVERY_CODES = "recovery_codes"
    TOTP = "totp"
    TRADING_PIN = "trading_pin"


class CredentialAction(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    RESET = "reset"
    USED = "used"


class Initiator(StrEnum):
    BROKER = "broker"
    CUSTOMER = "customer"
    STAFF = "staff"
    SYSTEM = "system"


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@\-]*$")
]
Text = Annotated[str, StringConstraints(max_length=1024)]
Symbol = Annotated[
    str,
    BeforeValidator(_upper),
    StringConstraints(min_length=1, max_length=16, pattern=r"^[A-Z0-9][A-Z0-9.\-]*$"),
]
Market = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z][A-Z0-9]{1,9}$")]
Currency = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z]{3}$")]


class JsonNumber(float):
    """A JSON number with a fraction or an exponent as the exact parser at the edges reads it
    (`kabuguard.parsing`): a float, so that every field takes it as it takes a fast parser's
    float, which also keeps its text, so that money is read from the text, exactly."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> Self:
        number = super().__new__(cls, text)
        number.text = text
        return number


# A validation context holding this key says a plain float was rounded by the parser (orjson
# reads numbers as doubles) and the caller can read its JSON again, exactly.
ROUNDED_FLOATS = "rounded_floats"
# The error a rounded float gets as money; `kabuguard.parsing` answers it by reading again.
INEXACT_MONEY = "money_inexact"


def _exact_money(value: object, info: ValidationInfo) -> object:
    """Money from its JSON text: a float has lost digits (`12345678901234.123456` reads
    `12345678901234.123`), so one from a JSON body is refused, to be read again exactly."""
    if not isinstance(value, float):
        return value
    if isinstance(value, JsonNumber):
        return Decimal(value.text)
    if info.mode == "json" or (info.context is not None and ROUNDED_FLOATS in info.context):
        raise PydanticCustomError(
            INEXACT_MONEY, "this number could not be read exactly; send it as a string"
        )
    return value  # a float from Python code: the caller chose it


_EXACT = BeforeValidator(_exact_money)
# In JSON, an amount has one spelling (`2500.0` is `"2500"`): stored events and their
# idempotency digests compare money by value.
_ONE_SPELLING = PlainSerializer(decimal_text, return_type=str, when_used="json")
Money = Annotated[
    Decimal,
    Field(gt=0, max_digits=20, decimal_places=6, allow_inf_nan=False),
    _EXACT,  # after the constraints, so that they stay the decimal's own (no float check)
    _ONE_SPELLING,
]
Quantity = Annotated[int, Field(gt=0, le=10**12)]
# A price may be zero: such an order or quote is recorded and given a clear reason by the
# rules (order:price:zero, reference:price:zero) rather than refused unseen at the door.
QuotedPrice = Annotated[
    Decimal,
    Field(ge=0, max_digits=20, decimal_places=6, allow_inf_nan=False),
    _EXACT,  # after the constraints, so that they stay the decimal's own (no float check)
    _ONE_SPELLING,
]


def _absent_if_empty(value: object) -> object:
    return None if value == "" else value


# The documented promise: an empty `ip` is absent, for the rules and for idempotency alike.
SourceIp = Annotated[
    Annotated[str, StringConstraints(max_length=64)] | None, BeforeValidator(_absent_if_empty)
]


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _storable(value: datetime) -> datetime:
    # Storage converts to UTC and the rules add days to it: year 1 or 9999 would overflow.
    if not EARLIEST <= value < LATEST:
        raise ValueError("must be between 1970 and 2199")
    return value


StorableInstant = Annotated[AwareDatetime, AfterValidator(_storable)]


class EventBase(BaseModel):
    """Fields every event carries. `event_id` is the idempotency key."""

    # A number is Unix seconds, as documented: pydantic would otherwise read one above 2e10
    # as milliseconds, and accept the year 2603 as 1970.
    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, val_temporal_unit="seconds"
    )

    event_id: Identifier = Field(description="Unique id chosen by the caller; idempotency key.")
    occurred_at: StorableInstant = Field(
        description="When it happened, with a time zone (years 1970 to 2199)."
    )
    customer_id: Identifier | None = Field(default=None, description="The broker's customer id.")
    session_id: Identifier | None = None
    channel: Channel | None = None
    ip: SourceIp = Field(
        default=None,
        description="Source IP as seen by the broker; unparseable values are scored as "
        "unknown, and an empty one is absent.",
    )
    user_agent: Text | None = None
    device_id: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None


class CustomerEvent(EventBase):
    customer_id: Identifier = Field(description="The broker's customer id.")


class LoginAttempt(EventBase):
    type: Literal[EventType.LOGIN_ATTEMPT] = EventType.LOGIN_ATTEMPT
    step: LoginStep
    result: AttemptResult
    factor: Factor | None = Field(default=None, description="The factor used at this step.")
    attempted_username: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = (
        Field(default=None, description="What was typed, when no customer matches it.")
    )

    @model_validator(mode="after")
    def _someone_is_named(self) -> Self:
        if self.customer_id is None and self.attempted_username is None:
            raise ValueError("a login attempt needs customer_id or attempted_username")
        return self


class Logout(CustomerEvent):
    type: Literal[EventType.LOGOUT] = EventType.LOGOUT


class Order(CustomerEvent):
    type: Literal[EventType.ORDER] = EventType.ORDER
    order_id: Identifier
    side: Side
    symbol: Symbol
    market: Market
    quantity: Quantity
    order_type: OrderType
    limit_price: QuotedPrice | None = None
    currency: Currency = "JPY"

    @model_validator(mode="after")
    def _limit_price_matches_type(self) -> Self:
        if self.order_type is OrderType.LIMIT and self.limit_price is None:
            raise ValueError("limit_price is required for a limit order")
        if self.order_type is OrderType.MARKET and self.limit_price is not None:
            raise ValueError("limit_price must be omitted for a market order")
        return self


class Execution(CustomerEvent):
    type: Literal[EventType.EXECUTION] = EventType.EXECUTION
    order_id: Identifier
    side: Side
    symbol: Symbol
    market: Market
    quantity: Quantity
    price: Money
    currency: Currency = "JPY"


class Cancellation(CustomerEvent):
    type: Literal[EventType.CANCELLATION] = EventType.CANCELLATION
    order_id: Identifier


class Withdrawal(CustomerEvent):
    type: Literal[EventType.WITHDRAWAL] = EventType.WITHDRAWAL
    withdrawal_id: Identifier
    amount: Money
    currency: Currency = "JPY"
    destination_id: Identifier


class PayoutChange(CustomerEvent):
    type: Literal[EventType.PAYOUT_CHANGE] = EventType.PAYOUT_CHANGE
    destination_id: Identifier
    bank_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
    branch_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]
    account_type: BankAccountType
    account_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{7}$")]
    holder_name_kana: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    approved_with: Factor | None = Field(
        default=None,
        description="The factor the customer approved this change with (transaction signing); "
        "only a passkey counts as phishing-resistant.",
    )


class ContactChange(CustomerEvent):
    type: Literal[EventType.CONTACT_CHANGE] = EventType.CONTACT_CHANGE
    contact: ContactKind
    new_value: Annotated[str, StringConstraints(min_length=1, max_length=320)] | None = None


class CredentialChange(CustomerEvent):
    type: Literal[EventType.CREDENTIAL_CHANGE] = EventType.CREDENTIAL_CHANGE
    credential: CredentialKind
    action: CredentialAction


class CustomerLock(CustomerEvent):
    type: Literal[EventType.CUSTOMER_LOCK] = EventType.CUSTOMER_LOCK
    initiated_by: Initiator
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class CustomerUnlock(CustomerEvent):
    type: Literal[EventType.CUSTOMER_UNLOCK] = EventType.CUSTOMER_UNLOCK
    initiated_by: Initiator
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class Instrument(EventBase):
    type: Literal[EventType.INSTRUMENT] = EventType.INSTRUMENT
    symbol: Symbol
    market: Market
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    currency: Currency = "JPY"
    lot_size: Quantity
    listed_shares: Quantity
    average_daily_volume: Annotated[int, Field(ge=0, le=10**13)]
    limit_up: Money | None = None
    limit_down: Money | None = None


class Price(EventBase):
    type: Literal[EventType.PRICE] = EventType.PRICE
    symbol: Symbol
    market: Market
    last: QuotedPrice
    previous_close: Money | None = None
    limit_up: Money | None = None
    limit_down: Money | None = None


Event = Annotated[
    LoginAttempt
    | Logout
    | Order
    | Execution
    | Cancellation
    | Withdrawal
    | PayoutChange
    | ContactChange
    | CredentialChange
    | CustomerLock
    | CustomerUnlock
    | Instrument
    | Price,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
