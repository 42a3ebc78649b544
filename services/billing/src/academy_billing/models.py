"""Tables of the billing schema: payments (seed table 9), the coins wallet and its ledger, purchases,
the catalog price projection and the log of verified payment-provider notifications.

Users and courses belong to other services: they are referenced by id only, never by foreign key.
Every rule that money depends on is also a database constraint, so a bug in the code cannot store
a negative balance, a second active purchase of a course or a second credit for one reference.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from academy_runtime.db import service_metadata
from academy_runtime.messaging import Messaging
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from academy_billing.settings import DEFAULT_LOW_BALANCE_THRESHOLD_COINS


class Base(DeclarativeBase):
    # A class statement: mypy accepts only a class as a base.
    metadata = service_metadata("billing")


# Subjects: a stored answer to a learner's wallet command is about that learner (`user/<id>`), and an
# erasure deletes it (academy_runtime.idempotency, `learners.erasure`).
messaging = Messaging(Base.metadata, idempotency_subjects=True)

CURRENCIES = ("RUB", "USD", "XTR")  # XTR: Telegram Stars
PAYMENT_STATUSES = ("pending", "waiting_for_capture", "succeeded", "failed", "canceled", "refunded")
PAYMENT_METHODS = ("yookassa", "telegram_stars", "wallet")
PAYMENT_PURPOSES = ("course", "top_up")
TRANSACTION_TYPES = ("topup", "purchase", "refund", "reward", "adjustment")
PURCHASE_STATUSES = ("active", "refunded")
PROVIDERS = ("yookassa", "telegram_stars")
REFUND_STATUSES = ("pending", "succeeded", "failed")
LEARNER_SOURCES = ("event", "users_service")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _money() -> Numeric[Decimal]:
    return Numeric(10, 2, asdecimal=True)


class Payment(Base):
    """One attempt to take money through a provider (seed table `payments`).

    `idempotence_key` is what we sent to the provider with the creation request, so a retried
    request never creates a second payment there; `(payment_method, external_id)` maps one provider
    payment (YooKassa payment id, Telegram charge id) to exactly one row.
    """

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    course_id: Mapped[int | None] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    amount: Mapped[Decimal] = mapped_column(_money(), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, server_default=text("'RUB'"))
    status: Mapped[str] = mapped_column(String(32), nullable=False, server_default=text("'pending'"))
    payment_method: Mapped[str] = mapped_column(String(32), nullable=False)
    external_id: Mapped[str | None] = mapped_column(String(255))
    # YooKassa accepts Idempotence-Key values of up to 64 characters.
    idempotence_key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    confirmation_url: Mapped[str | None] = mapped_column(Text)
    # The opaque `payload` of a Telegram Stars invoice: random, so it cannot be guessed from an id.
    invoice_payload: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Coins a top-up credits once it succeeds (fixed when the payment is created, at that day's rate).
    coins: Mapped[int | None] = mapped_column(BigInteger)
    # Past this a pending payment is not paid any more: a Stars invoice is refused at pre-checkout, and
    # the reconciliation job settles a YooKassa payment from the provider's state.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failure_reason: Mapped[str | None] = mapped_column(String(1000))
    refunded_amount: Mapped[Decimal] = mapped_column(_money(), nullable=False, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_one_of("currency", CURRENCIES), name="currency_known"),
        CheckConstraint(_one_of("status", PAYMENT_STATUSES), name="status_known"),
        CheckConstraint(_one_of("payment_method", PAYMENT_METHODS), name="payment_method_known"),
        CheckConstraint(_one_of("purpose", PAYMENT_PURPOSES), name="purpose_known"),
        CheckConstraint("(purpose = 'course') = (course_id IS NOT NULL)", name="course_iff_course_purpose"),
        # Telegram sells digital goods for Stars only, and Stars are only paid through Telegram.
        CheckConstraint("(payment_method = 'telegram_stars') = (currency = 'XTR')", name="stars_iff_xtr"),
        CheckConstraint("currency <> 'XTR' OR amount = trunc(amount)", name="stars_are_whole"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refunded_within_amount"),
        CheckConstraint("status NOT IN ('succeeded', 'refunded') OR paid_at IS NOT NULL", name="paid_has_paid_at"),
        CheckConstraint("purpose <> 'top_up' OR coins > 0", name="top_up_has_coins"),
        UniqueConstraint("payment_method", "external_id"),
        Index("ix_payments_user_id_created_at", "user_id", "created_at"),
        # The reconciliation job (later issue) re-reads payments the provider has not settled yet.
        Index(
            "ix_payments_unsettled",
            "created_at",
            postgresql_where=text("status IN ('pending', 'waiting_for_capture')"),
        ),
    )


class Wallet(Base):
    """A learner's coins balance (the roadmap's UserBalance); the ledger below is its history.

    `coins` is a cached sum of the learner's wallet transactions, updated in the same transaction
    as each ledger row while the wallet row is locked; `GET /internal/wallets/{id}/audit` checks it.
    """

    __tablename__ = "wallets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    coins: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    low_balance_threshold: Mapped[int] = mapped_column(
        Integer, nullable=False, server_default=text(str(DEFAULT_LOW_BALANCE_THRESHOLD_COINS))
    )
    # The learner's setting: ask for one confirmation tap before a course is charged to the wallet.
    confirm_purchases: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        CheckConstraint("coins >= 0", name="coins_not_negative"),
        CheckConstraint("low_balance_threshold > 0", name="threshold_positive"),
    )


class WalletTransaction(Base):
    """One change of a wallet (the roadmap's Transaction). Rows are never updated or deleted.

    `reference` names what the change is for (`payment:123:credit`, `achievement:42:3`,
    `adjustment:<caller>:<idempotency key>`): unique, so a replayed event or request cannot move
    coins twice. `balance_after` is the wallet's balance right after this row, so each row can be
    checked against the one before it.
    """

    __tablename__ = "wallet_transactions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("billing.wallets.id", ondelete="RESTRICT"), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False)
    balance_after: Mapped[int] = mapped_column(BigInteger, nullable=False)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("billing.payments.id", ondelete="RESTRICT"))
    reference: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_nonzero"),
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        CheckConstraint(_one_of("type", TRANSACTION_TYPES), name="type_known"),
        # Refunds may go either way (coins back for a refunded purchase, coins taken back for a
        # refunded top-up); operator adjustments too.
        CheckConstraint(
            "(type IN ('topup', 'reward') AND amount > 0) OR (type = 'purchase' AND amount < 0) "
            "OR type IN ('refund', 'adjustment')",
            name="amount_sign_matches_type",
        ),
        # Every top-up credit traces to exactly one verified provider payment.
        CheckConstraint("type <> 'topup' OR payment_id IS NOT NULL", name="topup_has_payment"),
        Index("ix_wallet_transactions_user_id_created_at", "user_id", "created_at"),
        # History pages and the audit read one learner's rows in id order (the order changes were
        # applied in: rows of one wallet are inserted while its row is locked).
        Index("ix_wallet_transactions_user_id_id", "user_id", "id"),
    )


class Purchase(Base):
    """A course bought by a learner, paid by a provider payment or by a wallet transaction."""

    __tablename__ = "purchases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    course_id: Mapped[int] = mapped_column(Integer, nullable=False)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("billing.payments.id", ondelete="RESTRICT"))
    wallet_transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("billing.wallet_transactions.id", ondelete="RESTRICT")
    )
    price: Mapped[Decimal] = mapped_column(_money(), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default=text("'active'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint(_one_of("currency", CURRENCIES), name="currency_known"),
        CheckConstraint(_one_of("status", PURCHASE_STATUSES), name="status_known"),
        CheckConstraint("num_nonnulls(payment_id, wallet_transaction_id) = 1", name="paid_exactly_once"),
        CheckConstraint("(status = 'refunded') = (refunded_at IS NOT NULL)", name="refunded_has_refunded_at"),
        # A learner holds a course at most once; a refunded purchase does not block buying it again.
        Index(
            "uq_purchases_active_user_course",
            "user_id",
            "course_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_purchases_payment_id", "payment_id"),
    )


class CoursePrice(Base):
    """Projection of catalog course events: what a course costs now.

    `updated_at` is the catalog's time of the change the row reflects (not our write time): an event
    older than it is ignored, so the projection does not depend on delivery order. A course archived
    before billing saw it published is kept as a tombstone without price and title.
    """

    __tablename__ = "course_prices"

    course_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    price: Mapped[Decimal | None] = mapped_column(_money())
    currency: Mapped[str | None] = mapped_column(String(3))
    stars_price: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint(_one_of("currency", CURRENCIES), name="currency_known"),
        CheckConstraint("stars_price > 0", name="stars_price_positive"),
        CheckConstraint(
            "(price IS NULL) = (currency IS NULL) AND (price IS NULL) = (title IS NULL) "
            "AND (price IS NOT NULL OR NOT is_active)",
            name="priced_unless_tombstone",
        ),
    )


class ProviderEvent(Base):
    """Every verified payment-provider notification (YooKassa webhook, Telegram `successful_payment`).

    The unique `(provider, external_event_id)` detects a replayed notification before anything is
    credited; `processed_at` is set once its effects are committed.
    """

    __tablename__ = "provider_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    external_event_id: Mapped[str] = mapped_column(String(255), nullable=False)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("billing.payments.id", ondelete="RESTRICT"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(_one_of("provider", PROVIDERS), name="provider_known"),
        UniqueConstraint("provider", "external_event_id"),
        Index("ix_provider_events_payment_id", "payment_id"),
    )


class Refund(Base):
    """Money (or coins) given back for a payment or a purchase: one row per refund asked for.

    A refund is written `pending` and committed before the provider is called, with the
    `idempotence_key` the provider receives, so a crash between the call and our commit is settled by
    retrying the same call (the provider answers the first refund again) instead of refunding twice.
    `payment_id` is set for a provider payment (Stars, YooKassa); a purchase charged to the wallet has
    only `purchase_id`. `amount` is in the refunded payment's (or purchase's) currency.
    """

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("billing.payments.id", ondelete="RESTRICT"))
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("billing.purchases.id", ondelete="RESTRICT"))
    amount: Mapped[Decimal] = mapped_column(_money(), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default=text("'pending'"))
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    idempotence_key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    external_id: Mapped[str | None] = mapped_column(String(255))
    failure_reason: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    succeeded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_one_of("currency", CURRENCIES), name="currency_known"),
        CheckConstraint(_one_of("status", REFUND_STATUSES), name="status_known"),
        CheckConstraint("num_nonnulls(payment_id, purchase_id) >= 1", name="refunds_something"),
        CheckConstraint("(status = 'succeeded') = (succeeded_at IS NOT NULL)", name="succeeded_has_succeeded_at"),
        Index("ix_refunds_payment_id", "payment_id"),
        Index("ix_refunds_purchase_id", "purchase_id"),
        # The reconciliation job finishes refunds whose provider call did not complete.
        Index("ix_refunds_pending", "created_at", postgresql_where=text("status = 'pending'")),
    )


class ExchangeRate(Base):
    """An operator-set rate of one currency: Stars and coins per unit (per rouble, per dollar, per Star).

    A paid course's Stars price is the catalog's own when it is priced in XTR, else its price times
    `stars_per_unit` rounded up; its coins price is its price times `coins_per_unit` rounded up. A
    currency without a row uses the defaults from settings.
    """

    __tablename__ = "exchange_rates"

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    stars_per_unit: Mapped[Decimal] = mapped_column(Numeric(12, 4), nullable=False)
    coins_per_unit: Mapped[Decimal] = mapped_column(Numeric(12, 4), nullable=False)
    updated_by: Mapped[str] = mapped_column(String(200), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint(_one_of("currency", CURRENCIES), name="currency_known"),
        CheckConstraint("stars_per_unit > 0", name="stars_per_unit_positive"),
        CheckConstraint("coins_per_unit > 0", name="coins_per_unit_positive"),
        CheckConstraint("currency <> 'XTR' OR stars_per_unit = 1", name="a_star_is_a_star"),
    )


class KnownLearner(Base):
    """The learners billing knows of: a projection of `users.user_registered` and `users.user_erased`,
    completed by the users service's answer for a learner whose event has not arrived yet (`source`).
    Every write keyed by a learner id checks it first (`learners.service`). An erasure is kept whatever
    the order the events arrive in; the row is never deleted.

    `pseudonymised_at`: when billing last finished detaching the erased learner's financial records from
    the person (`learners.erasure`); null for an erased learner while something is held back (a Stars
    refund still needs the payer's Telegram id) or was never done (erased before this release): the
    reconciliation job's sweep does it then.
    """

    __tablename__ = "learners"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    pseudonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(_one_of("source", LEARNER_SOURCES), name="source_known"),
        CheckConstraint("pseudonymised_at IS NULL OR erased_at IS NOT NULL", name="pseudonymised_only_if_erased"),
        # The sweep's work: erased learners whose records are not (all) pseudonymised yet.
        Index(
            "ix_learners_erased_unpseudonymised",
            "user_id",
            postgresql_where=text("erased_at IS NOT NULL AND pseudonymised_at IS NULL"),
        ),
    )
