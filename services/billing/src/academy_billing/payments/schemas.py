"""Request and response bodies of payments, purchases, refunds, offers and the reconciliation report."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from academy_runtime.decimals import decimal_schema
from academy_runtime.ids import CourseId, TelegramId, UserId
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field, model_validator

from academy_billing.settings import MAX_TOP_UP_RUB, MIN_TOP_UP_RUB

# Telegram's limits for an invoice payload are 1-128 bytes; ours are 43 URL-safe characters.
InvoicePayload = Annotated[str, StringConstraints(min_length=1, max_length=128)]
ChargeId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
# Telegram: a user id "has at most 52 significant bits"; a bound a double spells exactly (2^63 - 1 is not,
# and a generated id just above it was taken for one within it).
PayerTelegramId = Annotated[TelegramId, Field(le=2**52 - 1)]

# At least 3 characters once the spaces around are stripped: the pattern says so to the schema.
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=300),
    Field(pattern=r"\S[\s\S]+\S"),
]
MAX_STARS = 100_000  # far above Telegram's per-invoice limit; bounds the column arithmetic

# The examples name one small world (billing's API tests seed the same; `tests/test_api.py`): course 1 at
# 990.00 RUB (990 coins) and course 2 at 4900.00 RUB; learner 1's wallet funded by an operator (wallet
# transaction 1), then course 2 bought from it (purchase 1); learner 2's 500 RUB YooKassa top-up (payment 1,
# paid); learner 3's Stars invoice for a 100-star top-up (payment 2, with the payload below).
EXAMPLE_STARS_PAYLOAD = "w2sLOnKwuqVijGgK4AehFhxVHdCh5cRWil1NkhkgG7E"
EXAMPLE_REFUND_REASON = "Курс не подошёл, ученица попросила вернуть деньги"


class Offer(BaseModel):
    """What the learner sees on a course card: every way to pay for it, and whether they can."""

    course_id: int
    title: str | None
    is_free: bool
    on_sale: bool = Field(
        description="False when the course is archived, hidden or priced in a currency billing does not take."
    )
    price: Decimal | None = Field(description="Price in `currency`.")
    currency: str | None
    stars_price: int | None = Field(description="Price in Telegram Stars (the catalog's own, or converted).")
    coins_price: int | None = Field(description="Price in wallet coins.")
    balance: int = Field(description="Coins in the learner's wallet.")
    owned: bool = Field(description="The learner holds an active purchase of the course.")
    missing_coins: int = Field(description="Coins still needed to buy from the wallet; 0 when enough.")
    confirm_wallet_purchases: bool = Field(description="The learner's setting: confirm before charging the wallet.")
    stars_top_up_enabled: bool


class BuyWithWallet(BaseModel):
    """Command: charge the course to the learner's wallet at the coins price they were shown."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"course_id": 1, "coins_price": 990}]})

    course_id: CourseId
    coins_price: int = Field(
        gt=0,
        le=1_000_000_000,
        description="The price the learner confirmed; 409 price_changed if it is not the price now.",
    )


class PurchaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    course_id: int
    payment_id: int | None
    wallet_transaction_id: int | None
    price: Decimal
    currency: str
    status: Literal["active", "refunded"]
    created_at: datetime
    refunded_at: datetime | None


class WalletPurchaseOut(BaseModel):
    purchase_id: int
    course_id: int
    coins: int = Field(description="Coins charged.")
    balance: int = Field(description="Coins left.")
    created: bool = Field(description="False when the same request had already bought the course.")


# The rule of `_one_target` below, for the schema: a course invoice names its course and no stars, a
# top-up its stars and no course (null counts as not named).
_ONE_TARGET: dict[str, Any] = {
    "anyOf": [
        {
            "properties": {
                "purpose": {"const": "course"},
                "course_id": {"not": {"type": "null"}},
                "stars": {"type": "null"},
            },
            "required": ["course_id"],
        },
        {
            "properties": {
                "purpose": {"const": "top_up"},
                "stars": {"not": {"type": "null"}},
                "course_id": {"type": "null"},
            },
            "required": ["stars"],
        },
    ]
}


class CreateStarsInvoice(BaseModel):
    """Command: an invoice in Stars, for a course (`course_id`) or a wallet top-up (`stars`)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_ONE_TARGET)

    purpose: Literal["course", "top_up"]
    course_id: CourseId | None = None
    stars: int | None = Field(default=None, gt=0, le=MAX_STARS)

    @model_validator(mode="after")
    def _one_target(self) -> CreateStarsInvoice:
        if self.purpose == "course" and (self.course_id is None or self.stars is not None):
            raise ValueError("a course invoice names the course_id (its price is the course's)")
        if self.purpose == "top_up" and (self.stars is None or self.course_id is not None):
            raise ValueError("a top-up invoice names the number of stars")
        return self


class StarsInvoiceOut(BaseModel):
    """What the gateway needs for `sendInvoice` (currency XTR, one price item, empty provider token)."""

    payment_id: int
    payload: str = Field(description="The invoice payload: opaque, not guessable, names this payment.")
    purpose: Literal["course", "top_up"]
    course_id: int | None
    title: str = Field(max_length=32, description="Telegram: 1-32 characters.")
    description: str = Field(max_length=255, description="Telegram: 1-255 characters.")
    currency: Literal["XTR"] = "XTR"
    amount: int = Field(description="Stars.")
    coins: int | None = Field(description="Coins a top-up credits.")
    expires_at: datetime


PreCheckoutRefusal = Literal[
    "unknown_invoice",
    "not_yours",
    "expired",
    "price_changed",
    "course_unavailable",
    "already_owned",
    "already_paid",
    "top_up_disabled",
]


class PreCheckout(BaseModel):
    """Telegram's `pre_checkout_query`, as the gateway passes it on."""

    model_config = ConfigDict(extra="forbid")

    payload: InvoicePayload
    user_id: UserId
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)]
    total_amount: int = Field(ge=0, le=MAX_STARS * 100)


class PreCheckoutAnswer(BaseModel):
    ok: bool
    reason: PreCheckoutRefusal | None = None


class StarsPayment(BaseModel):
    """Telegram's `successful_payment` (with the payer's ids), as the gateway passes it on."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "payload": EXAMPLE_STARS_PAYLOAD,
                    "user_id": 3,
                    "telegram_user_id": 880_003,
                    "currency": "XTR",
                    "total_amount": 100,
                    "telegram_payment_charge_id": "stxA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvWxYz",
                    "provider_payment_charge_id": "",
                }
            ]
        },
    )

    payload: InvoicePayload
    user_id: UserId
    telegram_user_id: PayerTelegramId
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)]
    total_amount: int = Field(gt=0, le=MAX_STARS * 100)
    telegram_payment_charge_id: ChargeId
    provider_payment_charge_id: Annotated[str, StringConstraints(max_length=255)] = ""


StarsOutcome = Literal["course_purchased", "topped_up", "refunded"]


class StarsPaymentOut(BaseModel):
    payment_id: int
    purpose: Literal["course", "top_up"]
    outcome: StarsOutcome
    course_id: int | None
    purchase_id: int | None
    coins: int | None = Field(description="Coins credited by a top-up.")
    balance: int | None = Field(description="Coins in the wallet after a top-up.")


class StartTopUp(BaseModel):
    """Command: top the wallet up through YooKassa (whole roubles, within the configured limits)."""

    model_config = ConfigDict(extra="forbid")

    amount_rub: int = Field(
        ge=MIN_TOP_UP_RUB,
        le=MAX_TOP_UP_RUB,
        description="Whole roubles; a deployment may narrow the range (MIN_TOP_UP_RUB, MAX_TOP_UP_RUB: 422 outside).",
    )


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    purpose: Literal["course", "top_up"]
    course_id: int | None
    amount: Decimal
    currency: str
    status: str
    payment_method: str
    external_id: str | None
    coins: int | None
    refunded_amount: Decimal
    confirmation_url: str | None
    failure_reason: str | None
    created_at: datetime
    paid_at: datetime | None
    expires_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def payment_id(self) -> int:
        """The same as `id`, under the name the other answers use."""
        return self.id


class PaymentPage(BaseModel):
    items: list[PaymentOut]
    next_before_id: int | None


_Amount = Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2), decimal_schema(10, 2, positive=True)]


class RequestRefund(BaseModel):
    """Command: give money back for a payment; the whole of what is left when `amount` is omitted."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"amount": "500.00", "reason": EXAMPLE_REFUND_REASON}]}
    )

    amount: _Amount | None = Field(default=None, description="Null or absent: all that is left.")
    reason: Reason


class RefundPurchase(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": EXAMPLE_REFUND_REASON}]})

    reason: Reason


class RefundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    payment_id: int | None
    purchase_id: int | None
    amount: Decimal
    currency: str
    status: Literal["pending", "succeeded", "failed"]
    reason: str
    requested_by: str
    external_id: str | None
    failure_reason: str | None
    created_at: datetime
    succeeded_at: datetime | None


_Rate = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=4), decimal_schema(12, 4, positive=True)]


class RateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stars_per_unit: _Rate
    coins_per_unit: _Rate


class RateOut(BaseModel):
    currency: str
    stars_per_unit: Decimal
    coins_per_unit: Decimal
    source: Literal["operator", "default"]


class WalletSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm_purchases: bool


class Difference(BaseModel):
    """One thing the reconciliation found wrong."""

    kind: str = Field(
        description="`wallet_balance`, `top_up_credit`, `course_purchase`, `refunded_amount`, `credit_without_payment`."
    )
    user_id: int | None = None
    payment_id: int | None = None
    expected: str
    actual: str


class ReconciliationReport(BaseModel):
    wallets_checked: int
    payments_checked: int
    differences: list[Difference]
    consistent: bool
    generated_at: datetime
