"""Events published by the billing service: payments, the coins wallet and course purchases.

Money amounts are `Money` (decimal string + currency). Wallet amounts are whole coins (integers).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar, Literal, Self

from pydantic import Field, StrictInt, model_validator

from academy_contracts.base import EventData
from academy_contracts.primitives import (
    TELEGRAM_STARS,
    Count,
    DbId,
    Explanation,
    ExternalId,
    Money,
    PositiveCount,
    Slug,
    UtcDatetime,
)

__all__ = [
    "BalanceChangedV1",
    "BalanceLowV1",
    "CoursePurchasedV1",
    "PaymentFailedV1",
    "PaymentProvider",
    "PaymentPurpose",
    "PaymentRefundedV1",
    "PaymentSucceededV1",
    "PurchaseRefundedV1",
]

_SERVICE = "billing"

PaymentProvider = Literal["yookassa", "telegram_stars", "wallet"]
PaymentPurpose = Literal["course", "top_up"]

_PROVIDER_DESCRIPTION = (
    "Who took the money: `yookassa` (RUB, web redirect), `telegram_stars` (XTR, in-chat purchases) or "
    "`wallet` (the learner's coins)."
)


def _check_provider_currency(provider: PaymentProvider, amount: Money) -> None:
    # Telegram only sells digital goods for Stars, and Stars are only paid through Telegram.
    if (provider == "telegram_stars") != (amount.currency == TELEGRAM_STARS):
        raise ValueError("Telegram Stars payments are in XTR, and XTR is only paid through telegram_stars")


class PaymentSucceededV1(EventData):
    """A payment was confirmed by its provider (verified notification or `successful_payment`)."""

    event_type: ClassVar[str] = "billing.payment_succeeded.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "paid_at"

    payment_id: DbId = Field(description="Payment id in billing.")
    user_id: DbId = Field(description="The paying learner.")
    course_id: DbId | None = Field(
        default=None, description="The course paid for when `purpose` is `course`; null for a top-up."
    )
    amount: Money = Field(description="Amount paid.")
    provider: PaymentProvider = Field(description=_PROVIDER_DESCRIPTION)
    external_id: ExternalId = Field(
        description="The provider's id of the payment (YooKassa payment id, Telegram charge id, wallet transaction id)."
    )
    purpose: PaymentPurpose = Field(description="`course` purchase or wallet `top_up`.")
    paid_at: UtcDatetime = Field(description="When the provider confirmed the payment.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.purpose == "course") != (self.course_id is not None):
            raise ValueError("course_id is set exactly when purpose is 'course'")
        _check_provider_currency(self.provider, self.amount)
        return self

    @classmethod
    def example(cls) -> Self:
        return cls(
            payment_id=777,
            user_id=42,
            course_id=7,
            amount=Money(amount=Decimal(250), currency="XTR"),
            provider="telegram_stars",
            external_id="stxAbCdEf123456",
            purpose="course",
            paid_at=datetime(2025, 3, 3, 10, 59, 30, tzinfo=UTC),
        )


class PaymentFailedV1(EventData):
    """A payment was declined or cancelled; nothing was charged."""

    event_type: ClassVar[str] = "billing.payment_failed.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "failed_at"

    payment_id: DbId = Field(description="Payment id in billing.")
    user_id: DbId = Field(description="The learner who tried to pay.")
    amount: Money = Field(description="Amount that was to be paid.")
    provider: PaymentProvider = Field(description=_PROVIDER_DESCRIPTION)
    reason: Explanation = Field(
        description="Why it failed, e.g. the provider's cancellation reason (`insufficient_funds`, `expired`)."
    )
    failed_at: UtcDatetime = Field(description="When the failure became known.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_provider_currency(self.provider, self.amount)
        return self

    @classmethod
    def example(cls) -> Self:
        return cls(
            payment_id=778,
            user_id=42,
            amount=Money(amount=Decimal("1000.00"), currency="RUB"),
            provider="yookassa",
            reason="insufficient_funds",
            failed_at=datetime(2025, 3, 3, 11, 5, tzinfo=UTC),
        )


class PaymentRefundedV1(EventData):
    """Money of a successful payment was returned to the learner; what it bought is reversed."""

    event_type: ClassVar[str] = "billing.payment_refunded.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "refunded_at"

    payment_id: DbId = Field(description="The refunded payment.")
    user_id: DbId = Field(description="The learner refunded.")
    amount: Money = Field(description="Amount returned.")
    provider: PaymentProvider = Field(description=_PROVIDER_DESCRIPTION)
    refund_id: ExternalId = Field(description="The provider's id of the refund.")
    refunded_at: UtcDatetime = Field(description="When the provider confirmed the refund.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_provider_currency(self.provider, self.amount)
        return self

    @classmethod
    def example(cls) -> Self:
        return cls(
            payment_id=777,
            user_id=42,
            amount=Money(amount=Decimal(250), currency="XTR"),
            provider="telegram_stars",
            refund_id="stxAbCdEf123456",
            refunded_at=datetime(2025, 3, 5, 9, 0, tzinfo=UTC),
        )


class BalanceChangedV1(EventData):
    """The learner's coins balance changed (one wallet transaction)."""

    event_type: ClassVar[str] = "billing.balance_changed.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "changed_at"

    user_id: DbId = Field(description="Wallet owner.")
    transaction_id: DbId = Field(description="Id of the wallet transaction (ledger row).")
    delta: StrictInt = Field(description="Coins added (positive) or taken (negative) by the transaction.")
    balance: Count = Field(description="Coins in the wallet after the transaction.")
    reason: Slug = Field(
        description="Kind of transaction, e.g. `top_up`, `course_purchase`, `refund`, `achievement_reward`, "
        "`operator_adjustment`. Consumers treat unknown kinds generically."
    )
    changed_at: UtcDatetime = Field(description="When the transaction was recorded.")

    @model_validator(mode="after")
    def _nonzero(self) -> Self:
        if self.delta == 0:
            raise ValueError("a wallet transaction changes the balance")
        return self

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            transaction_id=12001,
            delta=-490,
            balance=60,
            reason="course_purchase",
            changed_at=datetime(2025, 3, 3, 11, 0, tzinfo=UTC),
        )


class BalanceLowV1(EventData):
    """The learner's coins balance fell to or below the low-balance threshold (so the bot can suggest a
    top-up). Published when the balance crosses the threshold, not on every change below it."""

    event_type: ClassVar[str] = "billing.balance_low.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "detected_at"

    user_id: DbId = Field(description="Wallet owner.")
    balance: Count = Field(description="Coins in the wallet.")
    threshold: PositiveCount = Field(description="The low-balance threshold in coins.")
    detected_at: UtcDatetime = Field(description="When the low balance was detected.")

    @classmethod
    def example(cls) -> Self:
        return cls(user_id=42, balance=60, threshold=100, detected_at=datetime(2025, 3, 3, 11, 0, tzinfo=UTC))


class CoursePurchasedV1(EventData):
    """A learner bought a course; progress enrols them on it."""

    event_type: ClassVar[str] = "billing.course_purchased.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "purchased_at"

    purchase_id: DbId = Field(description="Purchase id; one per learner and course.")
    user_id: DbId = Field(description="The buyer.")
    course_id: DbId = Field(description="The course bought.")
    payment_id: DbId | None = Field(
        default=None,
        description="The payment that paid for it; null when it was charged to the coins wallet directly.",
    )
    amount: Money = Field(description="Price paid.")
    purchased_at: UtcDatetime = Field(description="When the purchase was completed.")

    @classmethod
    def example(cls) -> Self:
        return cls(
            purchase_id=501,
            user_id=42,
            course_id=7,
            payment_id=777,
            amount=Money(amount=Decimal(250), currency="XTR"),
            purchased_at=datetime(2025, 3, 3, 11, 0, tzinfo=UTC),
        )


class PurchaseRefundedV1(EventData):
    """A course purchase was reversed (refunded by an operator, or refunded automatically because the
    learner already held the course): the learner loses access to the course it bought.

    Published for every kind of purchase (paid in Stars, through YooKassa or from the coins wallet); the
    money side of a provider refund is `billing.payment_refunded.v1`.
    """

    event_type: ClassVar[str] = "billing.purchase_refunded.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "refunded_at"

    purchase_id: DbId = Field(description="The reversed purchase (the `purchase_id` of `billing.course_purchased.v1`).")
    user_id: DbId = Field(description="The learner who loses access.")
    course_id: DbId = Field(description="The course the purchase opened.")
    payment_id: DbId | None = Field(
        default=None, description="The refunded provider payment; null for a purchase charged to the coins wallet."
    )
    amount: Money = Field(description="What the learner got back, in the purchase's currency.")
    reason: Explanation = Field(description="Why, e.g. `operator_refund` or `already_owned`.")
    refunded_at: UtcDatetime = Field(description="When the purchase was reversed.")

    @classmethod
    def example(cls) -> Self:
        return cls(
            purchase_id=501,
            user_id=42,
            course_id=7,
            payment_id=777,
            amount=Money(amount=Decimal(250), currency="XTR"),
            reason="operator_refund",
            refunded_at=datetime(2025, 3, 5, 9, 0, tzinfo=UTC),
        )
