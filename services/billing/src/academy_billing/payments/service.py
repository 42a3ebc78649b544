"""Payments: Stars invoices and `successful_payment`, YooKassa top-ups and their notifications, purchases
from the wallet, refunds, and the settlement the reconciliation job repeats.

Rules that money depends on (tests show each):
- Every credit traces to exactly one verified provider event: a Telegram `successful_payment` charge id
  (unique per payment method), or a YooKassa payment re-read from the API (a notification is only a hint
  to re-read; its body is never trusted). Ledger references (`payment:<id>:credit`) make a replay a no-op.
- A payment's row is locked (`SELECT … FOR UPDATE`) while its state changes, so duplicated, reordered or
  concurrent notifications settle it once.
- A provider call never happens inside a database transaction: the intent is committed first (a payment
  or a refund row with the idempotence key the provider receives), the call is made, and its outcome is
  committed in a second transaction. A crash in between leaves a pending row that the reconciliation job
  settles by repeating the same call with the same key.
- Money taken for something that can no longer be delivered (a course the learner already holds, a
  learner erased between starting the payment and paying) is refunded, never kept silently.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from academy_contracts.billing import (
    CoursePurchasedV1,
    PaymentFailedV1,
    PaymentRefundedV1,
    PaymentSucceededV1,
    PurchaseRefundedV1,
)
from academy_contracts.primitives import Money
from academy_runtime.client import ServiceClient
from academy_runtime.db import transaction
from academy_runtime.errors import ConflictError, LearnerNotFoundError, NotFoundError, ValidationFailedError
from academy_runtime.ids import INT64_MAX
from academy_runtime.locks import hold_named_lock
from academy_runtime.resources import Resources
from sqlalchemy.ext.asyncio import AsyncSession

from academy_billing import metrics
from academy_billing.learners.service import is_erased, mark_for_pseudonymisation, require_learner
from academy_billing.models import Payment, Purchase, Refund, WalletTransaction, messaging
from academy_billing.payments.providers import (
    ProviderError,
    ProviderUnavailableError,
    TelegramStarsClient,
    YooKassaClient,
)
from academy_billing.payments.repository import PaymentRepository, PurchaseRepository, RefundRepository
from academy_billing.payments.schemas import (
    BuyWithWallet,
    CreateStarsInvoice,
    Offer,
    PaymentOut,
    PreCheckout,
    PreCheckoutAnswer,
    RefundOut,
    StarsInvoiceOut,
    StarsPayment,
    StarsPaymentOut,
)
from academy_billing.rates.service import course_on_sale, course_pricing, rate_for, whole_down
from academy_billing.settings import BillingSettings
from academy_billing.wallet import service as wallet
from academy_billing.wallet.repository import WalletRepository
from academy_billing.wallet.schemas import WalletChange, WalletTransactionOut

log = logging.getLogger(__name__)

_EVENT_NAMESPACE = uuid.UUID("3c0b7f0e-2f5e-5b8a-9d7e-8a4e6f1c2b30")
LEARNER_ERASED = "learner_erased"
"""Why billing refunds money that arrived for a learner erased meanwhile, and cancels their open invoices."""
AUTOMATIC_REFUND_REASONS = frozenset({"already_owned", "amount_mismatch", LEARNER_ERASED})
"""The reasons of the refunds billing makes by itself (`requested_by = 'billing'`): codes, not anyone's words."""
# A Stars invoice approved at pre-checkout just before it expired may still be paid a little later.
_INVOICE_GRACE = timedelta(minutes=10)
_MAX_TITLE = 32  # Telegram: invoice title 1-32 characters
_MAX_DESCRIPTION = 255  # Telegram: invoice description 1-255 characters
_MAX_YOOKASSA_DESCRIPTION = 128  # YooKassa: payment description ≤ 128 characters


# -- errors -----------------------------------------------------------------------------------------


class AlreadyOwnedError(ConflictError):
    code = "already_owned"


class NotOnSaleError(ConflictError):
    code = "not_on_sale"


class PriceChangedError(ConflictError):
    code = "price_changed"


class StarsTopUpDisabledError(ConflictError):
    code = "stars_top_up_disabled"


class NotRefundableError(ConflictError):
    code = "not_refundable"


class NoReceiptContactError(ConflictError):
    """54-ФЗ: a receipt needs the buyer's phone or e-mail, and the learner has neither."""

    code = "no_receipt_contact"


# -- the providers a process holds -----------------------------------------------------------------


@dataclass
class Providers:
    """The clients billing talks to, opened once per process (see `academy_billing.app`)."""

    yookassa: YooKassaClient
    stars: TelegramStarsClient
    users: ServiceClient

    async def aclose(self) -> None:
        await self.yookassa.aclose()
        await self.stars.aclose()
        await self.users.aclose()


def providers(resources: Resources) -> Providers:
    found = resources.extras["providers"]
    assert isinstance(found, Providers)
    return found


def _now() -> datetime:
    return datetime.now(UTC)


def _key(prefix: str, *parts: object) -> str:
    """An idempotence key of ≤ 64 characters (YooKassa's limit) derived from what names the request."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return f"{prefix}:{digest[: 63 - len(prefix)]}"


def _event_id(kind: str, row_id: int) -> uuid.UUID:
    return uuid.uuid5(_EVENT_NAMESPACE, f"{kind}:{row_id}")


def _money(amount: Decimal, currency: str) -> Money:
    """Money for an event: Stars are whole (`250`, not `250.00`), other currencies keep their cents."""
    return Money(amount=amount.quantize(Decimal(1)) if currency == "XTR" else amount, currency=currency)


def _provider(payment: Payment) -> Any:
    return payment.payment_method


# -- offers and purchases from the wallet ---------------------------------------------------------


async def offer(session: AsyncSession, settings: BillingSettings, *, user_id: int, course_id: int) -> Offer:
    """Every way to pay for a course, for one learner. Raises NotFoundError for a course billing does not know."""
    course = await course_on_sale(session, course_id)
    if course is None:
        raise NotFoundError(f"billing does not know course {course_id}")
    wallet_row = await WalletRepository(session).by_user(user_id)
    balance = wallet_row.coins if wallet_row else 0
    owned = await PurchaseRepository(session).active(user_id, course_id) is not None
    is_free = course.price is not None and course.price <= 0
    on_sale = course.is_active and course.price is not None and not is_free
    stars_price = coins_price = None
    if on_sale:
        pricing = await course_pricing(session, settings, course)
        stars_price, coins_price = pricing.stars_price, pricing.coins_price
    return Offer(
        course_id=course_id,
        title=course.title,
        is_free=is_free,
        on_sale=on_sale,
        price=course.price,
        currency=course.currency,
        stars_price=stars_price,
        coins_price=coins_price,
        balance=balance,
        owned=owned,
        missing_coins=max(0, (coins_price or 0) - balance) if on_sale and not owned else 0,
        confirm_wallet_purchases=wallet_row.confirm_purchases if wallet_row else True,
        stars_top_up_enabled=settings.stars_top_up_enabled,
    )


async def buy_with_wallet(
    session: AsyncSession, settings: BillingSettings, *, user_id: int, command: BuyWithWallet, request_key: str
) -> tuple[Purchase, WalletTransactionOut, bool]:
    """Charge a course to the learner's wallet ("automatic charge" of the roadmap).

    The wallet row is locked before ownership is checked, so two concurrent purchases of one course
    (from the wallet, or one from the wallet and one in Stars) cannot both charge: the second sees the
    first purchase, and the partial unique index on active purchases backs it. Raises NotFoundError,
    NotOnSaleError, PriceChangedError, AlreadyOwnedError or `wallet.InsufficientFunds` (all 4xx);
    nothing changes then.
    """
    reference = _key("purchase", user_id, command.course_id, request_key)
    purchases = PurchaseRepository(session)
    wallets = WalletRepository(session)
    replay = await wallets.transaction_by_reference(reference)
    if replay is not None:
        bought = await purchases.by_wallet_transaction(replay.id)
        assert bought is not None  # the debit and its purchase are written in one transaction
        return bought, WalletTransactionOut.model_validate(replay), False
    course = await course_on_sale(session, command.course_id)
    if course is None:
        raise NotFoundError(f"billing does not know course {command.course_id}")
    if not course.is_active or course.price is None or course.price <= 0:
        raise NotOnSaleError(f"course {command.course_id} is not for sale")
    pricing = await course_pricing(session, settings, course)
    if pricing.coins_price != command.coins_price:
        raise PriceChangedError(
            f"the course costs {pricing.coins_price} coins now, not {command.coins_price}",
            details={"coins_price": pricing.coins_price},
        )
    await wallets.lock(user_id)
    if await purchases.active(user_id, command.course_id) is not None:
        raise AlreadyOwnedError(f"learner {user_id} already holds course {command.course_id}")
    change = await wallet.debit(
        session,
        user_id=user_id,
        coins=pricing.coins_price,
        type="purchase",
        reference=reference,
        description=f"Курс «{pricing.title}»"[:500],
        low_balance_threshold=settings.low_balance_threshold_coins,
    )
    purchase = await purchases.add_if_not_owned(
        user_id=user_id,
        course_id=command.course_id,
        wallet_transaction_id=change.transaction.id,
        price=pricing.price,
        currency=pricing.currency,
    )
    if purchase is None:  # unreachable while the wallet lock is held; the index is the last line
        raise AlreadyOwnedError(f"learner {user_id} already holds course {command.course_id}")
    await _publish_purchase(session, purchase)
    metrics.PURCHASES.labels("wallet").inc()
    return purchase, change.transaction, True


async def _publish_purchase(session: AsyncSession, purchase: Purchase) -> None:
    await messaging.publish(
        session,
        CoursePurchasedV1(
            purchase_id=purchase.id,
            user_id=purchase.user_id,
            course_id=purchase.course_id,
            payment_id=purchase.payment_id,
            amount=_money(purchase.price, purchase.currency),
            purchased_at=purchase.created_at.astimezone(UTC),
        ),
        event_id=_event_id("course_purchased", purchase.id),
    )


# -- Telegram Stars --------------------------------------------------------------------------------

_INVOICE_TEXTS = {
    "ru": {
        "course_description": "Доступ к курсу «{title}» в Beauty Academy: все уроки, чек-листы и сертификат.",
        "top_up_title": "Пополнение: {coins} монет",
        "top_up_description": "{coins} монет на баланс Beauty Academy.",
    },
    "en": {
        "course_description": (
            "Access to the course “{title}” at Beauty Academy: every lesson, checklist and certificate."
        ),
        "top_up_title": "Top-up: {coins} coins",
        "top_up_description": "{coins} coins to your Beauty Academy balance.",
    },
}


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _invoice_out(payment: Payment, title: str | None, locale: str) -> StarsInvoiceOut:
    texts = _INVOICE_TEXTS.get(locale, _INVOICE_TEXTS["ru"])
    assert payment.invoice_payload is not None
    assert payment.expires_at is not None
    if payment.purpose == "course":
        name = title or f"#{payment.course_id}"
        invoice_title = _short(name, _MAX_TITLE)
        description = _short(texts["course_description"].format(title=name), _MAX_DESCRIPTION)
    else:
        invoice_title = _short(texts["top_up_title"].format(coins=payment.coins), _MAX_TITLE)
        description = _short(texts["top_up_description"].format(coins=payment.coins), _MAX_DESCRIPTION)
    return StarsInvoiceOut(
        payment_id=payment.id,
        payload=payment.invoice_payload,
        purpose=cast("Any", payment.purpose),
        course_id=payment.course_id,
        title=invoice_title,
        description=description,
        amount=int(payment.amount),
        coins=payment.coins,
        expires_at=payment.expires_at,
    )


async def hold_payment_key(session: AsyncSession, key: str) -> None:
    """Hold, until the session's transaction ends, the advisory lock of one payment or refund idempotence key.

    A client that retries while its first call is still running sends the same key twice at once; both
    looked the key up, found nothing and inserted, and the second hit `uq_payments_idempotence_key` (a
    500, QA). With the lock the second waits, then finds the first one's committed payment and answers
    with it.
    """
    await hold_named_lock(session, f"billing.payment:{key}")


async def create_stars_invoice(
    session: AsyncSession,
    settings: BillingSettings,
    *,
    user_id: int,
    command: CreateStarsInvoice,
    request_key: str,
    locale: str = "ru",
) -> StarsInvoiceOut:
    """A pending Stars payment and what `sendInvoice` needs for it; the same request key gives the same
    invoice. Raises NotFoundError, NotOnSaleError, AlreadyOwnedError, StarsTopUpDisabledError (4xx)."""
    repo = PaymentRepository(session)
    key = _key("stars", user_id, request_key)
    await hold_payment_key(session, key)
    existing = await repo.by_idempotence_key(key)
    if existing is not None:
        course = await course_on_sale(session, existing.course_id) if existing.course_id else None
        return _invoice_out(existing, course.title if course else None, locale)
    title: str | None = None
    if command.purpose == "course":
        assert command.course_id is not None
        course = await course_on_sale(session, command.course_id)
        if course is None:
            raise NotFoundError(f"billing does not know course {command.course_id}")
        if not course.is_active or course.price is None or course.price <= 0:
            raise NotOnSaleError(f"course {command.course_id} is not for sale")
        if await PurchaseRepository(session).active(user_id, command.course_id) is not None:
            raise AlreadyOwnedError(f"learner {user_id} already holds course {command.course_id}")
        pricing = await course_pricing(session, settings, course)
        stars, coins, title = pricing.stars_price, None, pricing.title
        # A button pressed again while an invoice is open gets that invoice, not a second payment.
        open_invoice = await repo.open_stars_invoice(user_id, command.course_id, amount=Decimal(stars), now=_now())
        if open_invoice is not None:
            return _invoice_out(open_invoice, title, locale)
    else:
        if not settings.stars_top_up_enabled:
            raise StarsTopUpDisabledError("top-ups in Stars are turned off")
        assert command.stars is not None
        if command.stars > settings.max_stars_top_up:
            raise ValidationFailedError(f"a top-up in Stars is at most {settings.max_stars_top_up} stars")
        rate = await rate_for(session, settings, "XTR")
        stars, coins = command.stars, whole_down(command.stars * rate.coins_per_unit)
        if coins <= 0:
            raise ValidationFailedError(f"{command.stars} stars buy no whole coin at today's rate")
    payment = await repo.create(
        user_id=user_id,
        course_id=command.course_id,
        purpose=command.purpose,
        amount=Decimal(stars),
        currency="XTR",
        payment_method="telegram_stars",
        idempotence_key=key,
        # 32 random bytes: the payload names the payment without revealing or enumerating ids.
        invoice_payload=secrets.token_urlsafe(32),
        coins=coins,
        expires_at=_now() + timedelta(seconds=settings.stars_invoice_ttl_s),
    )
    metrics.PAYMENTS.labels("telegram_stars", command.purpose, "created").inc()
    return _invoice_out(payment, title, locale)


async def check_pre_checkout(session: AsyncSession, settings: BillingSettings, query: PreCheckout) -> PreCheckoutAnswer:
    """Whether Telegram may take the Stars of an invoice now (Telegram waits 10 s for the answer).

    Refused: an unknown payload, another learner's invoice, an expired or already paid one, a price that
    changed since the invoice (in our catalog, or in what Telegram is about to charge), an archived
    course, a course the learner holds already.
    """
    payment = await PaymentRepository(session).by_invoice_payload(query.payload)
    reason = await _pre_checkout_refusal(session, settings, payment, query)
    metrics.PRE_CHECKOUTS.labels(reason or "ok").inc()
    return PreCheckoutAnswer(ok=reason is None, reason=cast("Any", reason))


async def _pre_checkout_refusal(  # noqa: PLR0911 - one answer per rule, in the order a learner meets them
    session: AsyncSession, settings: BillingSettings, payment: Payment | None, query: PreCheckout
) -> str | None:
    if payment is None or payment.payment_method != "telegram_stars":
        return "unknown_invoice"
    if payment.user_id != query.user_id:
        return "not_yours"
    if payment.status in {"succeeded", "refunded"}:
        return "already_paid"
    if payment.status != "pending" or (payment.expires_at is not None and payment.expires_at < _now()):
        return "expired"
    if query.currency != "XTR" or query.total_amount != int(payment.amount):
        return "price_changed"
    if payment.purpose == "top_up":
        return None if settings.stars_top_up_enabled else "top_up_disabled"
    assert payment.course_id is not None
    course = await course_on_sale(session, payment.course_id)
    if course is None or not course.is_active or course.price is None or course.price <= 0:
        return "course_unavailable"
    if (await course_pricing(session, settings, course)).stars_price != int(payment.amount):
        return "price_changed"
    if await PurchaseRepository(session).active(payment.user_id, payment.course_id) is not None:
        return "already_owned"
    return None


@dataclass(frozen=True)
class StarsPaymentResult:
    answer: StarsPaymentOut
    refund_id: int | None  # a refund to send to Telegram after the commit


async def record_stars_payment(
    session: AsyncSession, settings: BillingSettings, paid: StarsPayment
) -> StarsPaymentResult:
    """Apply a `successful_payment` once: the payment succeeds, then the course is bought or the coins
    credited. A redelivered update (same charge id) returns the first answer and changes nothing.

    Money Telegram took is never kept for nothing: the second payment of one invoice, an amount that is
    not the invoice's, a course the learner already holds, or a learner erased since the invoice (its
    cancellation at the erasure came too late for Telegram) gets a refund (`outcome = refunded`), which
    the caller completes after the commit. Raises NotFoundError for a payload that is not ours and
    ConflictError for another learner's invoice.
    """
    repo = PaymentRepository(session)
    charge_id = paid.telegram_payment_charge_id
    replay = await repo.by_external_id("telegram_stars", charge_id)
    if replay is not None:
        return StarsPaymentResult(await _stars_outcome(session, replay), None)
    payment = await repo.by_invoice_payload(paid.payload, lock=True)
    if payment is None:
        log.error("successful_payment for an invoice that is not ours", extra={"charge_id": charge_id})
        raise NotFoundError("no invoice has this payload")
    if payment.user_id != paid.user_id:
        log.error("successful_payment by another learner", extra={"payment_id": payment.id})
        raise ConflictError("this invoice was issued to another learner")
    if payment.external_id == charge_id:  # a concurrent redelivery committed while we waited for the lock
        return StarsPaymentResult(await _stars_outcome(session, payment), None)

    refund_reason: str | None = None
    if paid.currency != "XTR" or paid.total_amount != int(payment.amount):
        refund_reason = "amount_mismatch"
    if payment.external_id is not None or refund_reason:
        # The invoice was paid before, or for another amount: this money gets a payment row of its own.
        payment = await repo.create(
            user_id=payment.user_id,
            course_id=payment.course_id,
            purpose=payment.purpose,
            amount=Decimal(paid.total_amount),
            currency="XTR",
            payment_method="telegram_stars",
            idempotence_key=_key("stars-extra", charge_id),
            coins=payment.coins,
        )
    now = _now()
    await repo.record_provider_event(
        provider="telegram_stars",
        external_event_id=charge_id,
        event_type="successful_payment",
        payment_id=payment.id,
        payload=paid.model_dump(mode="json"),
        processed_at=now,
    )
    await _mark_succeeded(session, payment, external_id=charge_id, paid_at=now)
    metrics.PAYMENTS.labels("telegram_stars", payment.purpose, "succeeded").inc()
    # Paid after the learner was erased (an invoice approved just before): the Stars go back.
    refund_reason = await _erased_refund_reason(session, payment) or refund_reason

    if refund_reason is None and payment.purpose == "top_up":
        change = await _credit_top_up(session, settings, payment)
        answer = StarsPaymentOut(
            payment_id=payment.id,
            purpose="top_up",
            outcome="topped_up",
            course_id=None,
            purchase_id=None,
            coins=payment.coins,
            balance=change.transaction.balance_after,
        )
        return StarsPaymentResult(answer, None)
    if refund_reason is None:
        purchase = await _purchase_with_payment(session, payment)
        if purchase is not None:
            answer = StarsPaymentOut(
                payment_id=payment.id,
                purpose="course",
                outcome="course_purchased",
                course_id=payment.course_id,
                purchase_id=purchase.id,
                coins=None,
                balance=None,
            )
            return StarsPaymentResult(answer, None)
        refund_reason = "already_owned"
    refund = await _open_refund(
        session,
        payment,
        amount=payment.amount,
        reason=refund_reason,
        requested_by="billing",
        idempotence_key=_key("rf-auto", payment.id),
    )
    answer = StarsPaymentOut(
        payment_id=payment.id,
        purpose=cast("Any", payment.purpose),
        outcome="refunded",
        course_id=payment.course_id,
        purchase_id=None,
        coins=None,
        balance=None,
    )
    return StarsPaymentResult(answer, refund.id)


async def _stars_outcome(session: AsyncSession, payment: Payment) -> StarsPaymentOut:
    """The answer a `successful_payment` got the first time, rebuilt from what it stored."""
    purchase = await PurchaseRepository(session).by_payment(payment.id) if payment.purpose == "course" else None
    credit = await WalletRepository(session).transaction_by_reference(f"payment:{payment.id}:credit")
    if payment.purpose == "top_up" and credit is not None:
        outcome, coins, balance = "topped_up", payment.coins, credit.balance_after
    elif purchase is not None:
        outcome, coins, balance = "course_purchased", None, None
    else:
        outcome, coins, balance = "refunded", None, None
    return StarsPaymentOut(
        payment_id=payment.id,
        purpose=cast("Any", payment.purpose),
        outcome=cast("Any", outcome),
        course_id=payment.course_id,
        purchase_id=purchase.id if purchase else None,
        coins=coins,
        balance=balance,
    )


# -- shared settlement -----------------------------------------------------------------------------


async def _mark_succeeded(session: AsyncSession, payment: Payment, *, external_id: str, paid_at: datetime) -> None:
    payment.status = "succeeded"
    payment.external_id = external_id
    payment.paid_at = paid_at
    payment.failure_reason = None
    await session.flush()
    metrics.REVENUE.labels(payment.currency, payment.payment_method, payment.purpose).inc(float(payment.amount))
    await messaging.publish(
        session,
        PaymentSucceededV1(
            payment_id=payment.id,
            user_id=payment.user_id,
            course_id=payment.course_id if payment.purpose == "course" else None,
            amount=_money(payment.amount, payment.currency),
            provider=_provider(payment),
            external_id=external_id,
            purpose=cast("Any", payment.purpose),
            paid_at=paid_at,
        ),
        event_id=_event_id("payment_succeeded", payment.id),
    )


async def _credit_top_up(session: AsyncSession, settings: BillingSettings, payment: Payment) -> WalletChange:
    assert payment.coins is not None
    return await wallet.credit(
        session,
        user_id=payment.user_id,
        coins=payment.coins,
        type="topup",
        reference=f"payment:{payment.id}:credit",
        description=f"Пополнение: {payment.amount.normalize():f} {payment.currency}",
        payment_id=payment.id,
        low_balance_threshold=settings.low_balance_threshold_coins,
    )


async def _purchase_with_payment(session: AsyncSession, payment: Payment) -> Purchase | None:
    """The purchase a course payment pays for; None when the learner already holds the course."""
    assert payment.course_id is not None
    await WalletRepository(session).lock(payment.user_id)  # one purchase decision per learner at a time
    purchase = await PurchaseRepository(session).add_if_not_owned(
        user_id=payment.user_id,
        course_id=payment.course_id,
        payment_id=payment.id,
        price=payment.amount,
        currency=payment.currency,
    )
    if purchase is not None:
        await _publish_purchase(session, purchase)
        metrics.PURCHASES.labels(payment.payment_method).inc()
    return purchase


async def _mark_failed(session: AsyncSession, payment: Payment, reason: str) -> None:
    payment.status = "canceled"
    payment.failure_reason = reason[:1000]
    await session.flush()
    await messaging.publish(
        session,
        PaymentFailedV1(
            payment_id=payment.id,
            user_id=payment.user_id,
            amount=_money(payment.amount, payment.currency),
            provider=_provider(payment),
            reason=reason[:1000] or "canceled",
            failed_at=_now(),
        ),
        event_id=_event_id("payment_failed", payment.id),
    )
    metrics.PAYMENTS.labels(payment.payment_method, payment.purpose, "canceled").inc()


async def cancel_open_invoices(session: AsyncSession, payments: list[Payment], reason: str) -> int:
    """Cancel the unpaid Stars invoices among `payments` (rows the caller holds locked): Telegram is then
    refused at pre-checkout (`expired`), and `payment_failed` says so. A YooKassa payment is left pending:
    the payer may be on YooKassa's page, and what they pay is settled (and given back) as usual."""
    cancelled = 0
    for payment in payments:
        if payment.payment_method == "telegram_stars" and payment.status == "pending":
            await _mark_failed(session, payment, reason)
            cancelled += 1
    return cancelled


# -- YooKassa --------------------------------------------------------------------------------------


async def start_yookassa_payment(
    resources: Resources, *, user_id: int, amount_rub: int | None, course_id: int | None, request_key: str
) -> PaymentOut:
    """A YooKassa payment (a wallet top-up of `amount_rub`, or a course priced in RUB) with a redirect
    confirmation: the learner pays on YooKassa's page, and the notification that follows is settled by
    re-reading the payment from the API.

    The payment row is committed before YooKassa is called, with the Idempotence-Key YooKassa receives;
    the same request key returns the same payment. Raises ValidationFailedError (amount outside the
    limits), NotFoundError, NotOnSaleError, AlreadyOwnedError, ProviderUnavailableError (503: the payment
    stays pending and the reconciliation job settles it).
    """
    settings = resources.settings_as(BillingSettings)
    key = _key("yk", user_id, request_key)
    async with transaction(resources.sessionmaker) as session:
        repo = PaymentRepository(session)
        await hold_payment_key(session, key)
        payment = await repo.by_idempotence_key(key)
        if payment is None:
            # Before any row is written: no pending payment for a learner nobody registered.
            await require_learner(session, resources, user_id)
            payment = await _new_yookassa_payment(
                session, settings=settings, user_id=user_id, amount_rub=amount_rub, course_id=course_id, key=key
            )
        if payment.confirmation_url is not None or payment.status != "pending":
            return PaymentOut.model_validate(payment)
    phone = await _receipt_phone(resources, user_id)
    body = _yookassa_payment_body(settings, payment, phone)
    document = await providers(resources).yookassa.create_payment(body, idempotence_key=key)
    async with transaction(resources.sessionmaker) as session:
        locked = await PaymentRepository(session).get(payment.id, lock=True)
        assert locked is not None
        if locked.external_id is None:
            locked.external_id = str(document["id"])
        elif locked.external_id != document["id"]:
            log.error("YooKassa returned another payment for our key", extra={"payment_id": locked.id})
        confirmation = document.get("confirmation") or {}
        locked.confirmation_url = confirmation.get("confirmation_url")
        await session.flush()
        result = PaymentOut.model_validate(locked)
    if document.get("status") != "pending":
        await settle_yookassa_payment(resources, str(document["id"]))
    return result


async def _new_yookassa_payment(
    session: AsyncSession,
    *,
    settings: BillingSettings,
    user_id: int,
    amount_rub: int | None,
    course_id: int | None,
    key: str,
) -> Payment:
    if course_id is not None:
        course = await course_on_sale(session, course_id)
        if course is None:
            raise NotFoundError(f"billing does not know course {course_id}")
        if not course.is_active or course.price is None or course.price <= 0 or course.currency != "RUB":
            raise NotOnSaleError(f"course {course_id} is not sold for roubles")
        if await PurchaseRepository(session).active(user_id, course_id) is not None:
            raise AlreadyOwnedError(f"learner {user_id} already holds course {course_id}")
        amount, coins, purpose = course.price, None, "course"
    else:
        assert amount_rub is not None
        if not settings.min_top_up_rub <= amount_rub <= settings.max_top_up_rub:
            raise ValidationFailedError(
                f"a top-up is from {settings.min_top_up_rub} to {settings.max_top_up_rub} roubles, not {amount_rub}",
                details={"min_rub": settings.min_top_up_rub, "max_rub": settings.max_top_up_rub},
            )
        rate = await rate_for(session, settings, "RUB")
        amount, coins, purpose = Decimal(amount_rub), whole_down(amount_rub * rate.coins_per_unit), "top_up"
    payment = await PaymentRepository(session).create(
        user_id=user_id,
        course_id=course_id,
        purpose=purpose,
        amount=amount,
        currency="RUB",
        payment_method="yookassa",
        idempotence_key=key,
        coins=coins,
        expires_at=_now() + timedelta(seconds=settings.yookassa_pending_timeout_s),
    )
    metrics.PAYMENTS.labels("yookassa", purpose, "created").inc()
    return payment


async def _receipt_phone(resources: Resources, user_id: int) -> str:
    """The learner's phone for the 54-ФЗ receipt, asked from the users service and never stored here."""
    try:
        learner = await providers(resources).users.get(f"/internal/users/{user_id}")
    except NotFoundError:  # erased since the payment was asked for
        raise LearnerNotFoundError(user_id) from None
    phone = str(learner.get("phone") or "")
    if not phone:
        raise NoReceiptContactError("the learner has no phone number for the fiscal receipt (54-ФЗ)")
    return phone.lstrip("+")


def _yookassa_payment_body(settings: BillingSettings, payment: Payment, phone: str) -> dict[str, Any]:
    value = f"{payment.amount:.2f}"
    if payment.purpose == "top_up":
        item = f"Пополнение баланса Beauty Academy: {payment.coins} монет"
    else:
        item = f"Доступ к курсу Beauty Academy #{payment.course_id}"
    return {
        "amount": {"value": value, "currency": payment.currency},
        "capture": True,
        "confirmation": {"type": "redirect", "return_url": settings.yookassa_return_url},
        "description": _short(item, _MAX_YOOKASSA_DESCRIPTION),
        "metadata": {"payment_id": str(payment.id), "user_id": str(payment.user_id), "purpose": payment.purpose},
        # 54-ФЗ: one item, the buyer's phone, the VAT code of the shop's tax regime.
        "receipt": {
            "customer": {"phone": phone},
            "items": [
                {
                    "description": _short(item, _MAX_YOOKASSA_DESCRIPTION),
                    "quantity": "1.00",
                    "amount": {"value": value, "currency": payment.currency},
                    "vat_code": settings.yookassa_vat_code,
                    "payment_mode": "full_prepayment",
                    "payment_subject": "service",
                }
            ],
        },
    }


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


async def settle_yookassa_payment(resources: Resources, external_id: str, *, depth: int = 0) -> str:
    """Bring our payment in line with YooKassa's state of it, re-read from the API (never from a
    notification's body); an erased learner's money goes back. Returns what happened: `succeeded`,
    `canceled`, `waiting_for_capture`, `unchanged`, `unknown` (not our payment: nothing credited) or
    `mismatch` (amounts disagree: nothing credited). Safe to run any number of times, concurrently, in any
    order.
    """
    client = providers(resources).yookassa
    document = await client.get_payment(external_id)
    settings = resources.settings_as(BillingSettings)
    to_capture = False
    refund_id: int | None = None
    async with transaction(resources.sessionmaker) as session:
        payment = await _find_yookassa_payment(session, external_id, document)
        if payment is None:
            log.warning("YooKassa payment that is not ours; nothing credited", extra={"external_id": external_id})
            metrics.NOTIFICATIONS.labels("unknown_payment").inc()
            return "unknown"
        amount = document.get("amount") or {}
        if Decimal(str(amount.get("value", "0"))) != payment.amount or amount.get("currency") != payment.currency:
            log.error("YooKassa payment amount differs from ours; nothing credited", extra={"payment_id": payment.id})
            metrics.NOTIFICATIONS.labels("amount_mismatch").inc()
            return "mismatch"
        if payment.external_id is None:
            payment.external_id = external_id
        status = str(document.get("status"))
        outcome = "unchanged"
        if status == "succeeded" and payment.status in ("pending", "waiting_for_capture", "canceled"):
            paid_at = _parse_time(document.get("captured_at")) or _now()
            await PaymentRepository(session).record_provider_event(
                provider="yookassa",
                external_event_id=f"payment.succeeded:{external_id}",
                event_type="payment.succeeded",
                payment_id=payment.id,
                payload=document,
                processed_at=_now(),
            )
            await _mark_succeeded(session, payment, external_id=external_id, paid_at=paid_at)
            metrics.PAYMENTS.labels("yookassa", payment.purpose, "succeeded").inc()
            refund_id = await _deliver_yookassa_payment(session, settings, payment)
            outcome = "succeeded"
        elif status == "canceled" and payment.status in ("pending", "waiting_for_capture"):
            details = document.get("cancellation_details") or {}
            await PaymentRepository(session).record_provider_event(
                provider="yookassa",
                external_event_id=f"payment.canceled:{external_id}",
                event_type="payment.canceled",
                payment_id=payment.id,
                payload=document,
                processed_at=_now(),
            )
            await _mark_failed(session, payment, str(details.get("reason") or "canceled"))
            outcome = "canceled"
        elif status == "waiting_for_capture" and payment.status in ("pending", "waiting_for_capture"):
            payment.status = "waiting_for_capture"
            to_capture = True
            outcome = "waiting_for_capture"
        await session.flush()
        payment_id = payment.id
        key = payment.idempotence_key
    if refund_id is not None:
        await complete_refund(resources, refund_id)
    if to_capture and depth == 0:
        # We create payments with capture=true; a payment waiting for capture is still ours to take.
        await client.capture_payment(external_id, idempotence_key=_key("cap", key))
        log.info("captured a YooKassa payment", extra={"payment_id": payment_id})
        return await settle_yookassa_payment(resources, external_id, depth=1)
    return outcome


async def _deliver_yookassa_payment(session: AsyncSession, settings: BillingSettings, payment: Payment) -> int | None:
    """What a succeeded YooKassa payment pays for: the top-up's coins or the course; or, when that cannot be
    delivered (the learner holds the course already, or was erased since they started paying), a refund
    whose id is returned (the caller completes it after the commit)."""
    refund_reason = await _erased_refund_reason(session, payment)
    if refund_reason is None and payment.purpose == "top_up":
        await _credit_top_up(session, settings, payment)
    elif refund_reason is None and await _purchase_with_payment(session, payment) is None:
        refund_reason = "already_owned"
    if refund_reason is None:
        return None
    refund = await _open_refund(
        session,
        payment,
        amount=payment.amount,
        reason=refund_reason,
        requested_by="billing",
        idempotence_key=_key("rf-auto", payment.id),
    )
    return refund.id


async def _erased_refund_reason(session: AsyncSession, payment: Payment) -> str | None:
    """`learner_erased` when the payment's learner was erased before their money arrived: it goes back, and
    the sweep pseudonymises what the settlement records (the payer's Telegram id, the payment's key) once
    the refund is done (`learners.erasure`). None otherwise."""
    if not await is_erased(session, payment.user_id):
        return None
    await mark_for_pseudonymisation(session, payment.user_id)
    return LEARNER_ERASED


async def _find_yookassa_payment(session: AsyncSession, external_id: str, document: dict[str, Any]) -> Payment | None:
    repo = PaymentRepository(session)
    payment = await repo.by_external_id("yookassa", external_id, lock=True)
    if payment is not None:
        return payment
    # The notification can arrive before the transaction that stored YooKassa's id committed: the
    # payment is then found by the id we put in its metadata, and only if it has no other YooKassa id.
    ours = str((document.get("metadata") or {}).get("payment_id") or "")
    if not ours.isdigit() or int(ours) > INT64_MAX:  # payments.id is a bigint
        return None
    candidate = await repo.get(int(ours), lock=True)
    if candidate is None or candidate.payment_method != "yookassa" or candidate.external_id not in (None, external_id):
        return None
    return candidate


async def settle_yookassa_refund(resources: Resources, refund_external_id: str) -> str:
    """Finish our refund from YooKassa's state of it (re-read from the API). Returns `succeeded`,
    `failed`, `unchanged` or `unknown` (a refund made outside billing: logged, nothing changed)."""
    document = await providers(resources).yookassa.get_refund(refund_external_id)
    async with transaction(resources.sessionmaker) as session:
        refunds = RefundRepository(session)
        refund = await refunds.by_external_id(refund_external_id)
        if refund is None:
            payment = await PaymentRepository(session).by_external_id("yookassa", str(document.get("payment_id")))
            amount = Decimal(str((document.get("amount") or {}).get("value", "0")))
            pending = [
                r
                for r in (await refunds.of_payment(payment.id) if payment else [])
                if r.status == "pending" and r.amount == amount
            ]
            refund = pending[0] if pending else None
        if refund is None:
            log.warning("YooKassa refund that is not ours", extra={"external_id": refund_external_id})
            return "unknown"
        status = str(document.get("status"))
        if status == "succeeded":
            return "succeeded" if await _finish_refund(session, refund.id, refund_external_id) else "unchanged"
        if status == "canceled":
            return "failed" if await _fail_refund(session, refund.id, "canceled by YooKassa") else "unchanged"
        return "unchanged"


# -- refunds ---------------------------------------------------------------------------------------


async def _open_refund(
    session: AsyncSession,
    payment: Payment,
    *,
    amount: Decimal,
    reason: str,
    requested_by: str,
    idempotence_key: str,
    purchase_id: int | None = None,
) -> Refund:
    """A pending refund of (part of) a payment, committed with the caller's transaction; a top-up's
    coins are taken back now (a refund of coins already spent is refused with 409). A top-up that never
    credited its coins (refunded at once: an amount that is not the invoice's, an erased learner) takes
    nothing back."""
    refunds = RefundRepository(session)
    existing = await refunds.by_idempotence_key(idempotence_key)
    if existing is not None:
        return existing
    refund = await refunds.create(
        user_id=payment.user_id,
        payment_id=payment.id,
        purchase_id=purchase_id,
        amount=amount,
        currency=payment.currency,
        reason=reason[:500],
        requested_by=requested_by[:200],
        idempotence_key=idempotence_key,
    )
    credited = await WalletRepository(session).transaction_by_reference(f"payment:{payment.id}:credit")
    if payment.purpose == "top_up" and payment.coins and credited is not None:
        coins = await _coins_to_take_back(session, payment, refund)
        if coins > 0:  # a refund of a few kopecks may be worth no whole coin
            await wallet.debit(
                session,
                user_id=payment.user_id,
                coins=coins,
                type="refund",
                reference=f"refund:{refund.id}:debit",
                description=f"Возврат пополнения: {amount:f} {payment.currency}",
                payment_id=payment.id,
            )
    metrics.REFUNDS.labels(payment.payment_method, "requested").inc()
    return refund


async def _coins_to_take_back(session: AsyncSession, payment: Payment, refund: Refund) -> int:
    """The coins a top-up's refund takes back: its share of the top-up's coins rounded down (the learner
    never loses a coin to rounding), and the last refund takes exactly what the earlier ones left, so a
    top-up refunded in parts takes back its coins exactly once."""
    assert payment.coins is not None
    earlier = [r for r in await RefundRepository(session).of_payment(payment.id) if r.id != refund.id]
    refunded = sum((r.amount for r in earlier if r.status != "failed"), Decimal(0))
    wallets = WalletRepository(session)
    taken = 0
    for other in earlier:
        debit = await wallets.transaction_by_reference(f"refund:{other.id}:debit")
        restored = await wallets.transaction_by_reference(f"refund:{other.id}:restore")
        if debit is not None and restored is None:
            taken -= debit.amount
    if refunded + refund.amount >= payment.amount:
        return max(0, payment.coins - taken)
    return whole_down(Decimal(payment.coins) * refund.amount / payment.amount)


async def request_refund(
    resources: Resources,
    *,
    payment_id: int,
    amount: Decimal | None,
    reason: str,
    requested_by: str,
    request_key: str,
    purchase_id: int | None = None,
) -> RefundOut:
    """An operator's refund of a payment, whole or in part (Stars: whole only, as Telegram refunds).

    The same request key refunds once; a refund of more than is left is refused (409). A course payment
    refunded in full reverses the purchase; a top-up's coins are taken back. Raises NotFoundError,
    NotRefundableError, ValidationFailedError, `wallet.InsufficientFunds` (the coins were spent).
    """
    key = _key("rf", requested_by, request_key)
    async with transaction(resources.sessionmaker) as session:
        await hold_payment_key(session, key)
        refund = await RefundRepository(session).by_idempotence_key(key)
        if refund is not None and (refund.payment_id != payment_id or amount not in (None, refund.amount)):
            raise ValidationFailedError(
                "this Idempotency-Key was already used for another refund",
                details={"refund_id": refund.id, "payment_id": refund.payment_id, "amount": str(refund.amount)},
            )
        if refund is None:
            payment = await PaymentRepository(session).get(payment_id, lock=True)
            if payment is None:
                raise NotFoundError(f"payment {payment_id} not found")
            if payment.payment_method not in ("telegram_stars", "yookassa") or payment.status != "succeeded":
                raise NotRefundableError(f"payment {payment_id} is {payment.status}: nothing to refund")
            taken = sum(
                (r.amount for r in await RefundRepository(session).of_payment(payment.id) if r.status != "failed"),
                Decimal(0),
            )
            remaining = payment.amount - taken
            if remaining <= 0:
                raise NotRefundableError(f"payment {payment_id} is refunded already")
            amount = remaining if amount is None else amount
            if amount > remaining:
                raise NotRefundableError(
                    f"at most {remaining} {payment.currency} of payment {payment_id} can still be refunded",
                    details={"remaining": str(remaining)},
                )
            if payment.payment_method == "telegram_stars" and amount != payment.amount:
                raise ValidationFailedError("Telegram refunds a Stars payment whole: omit the amount")
            refund = await _open_refund(
                session,
                payment,
                amount=amount,
                reason=reason,
                requested_by=requested_by,
                idempotence_key=key,
                purchase_id=purchase_id,
            )
        refund_id = refund.id
    return await complete_refund(resources, refund_id)


async def complete_refund(resources: Resources, refund_id: int) -> RefundOut:
    """Send a pending refund to its provider (the same idempotence key every time) and record the outcome.
    A provider that cannot be reached leaves it pending for the reconciliation job."""
    async with transaction(resources.sessionmaker) as session:
        refund = await RefundRepository(session).get(refund_id)
        assert refund is not None
        if refund.status != "pending" or refund.payment_id is None:
            return RefundOut.model_validate(refund)
        payment = await PaymentRepository(session).get(refund.payment_id)
        assert payment is not None
        assert payment.external_id is not None
        payer = await PaymentRepository(session).stars_payer(payment.id)
    clients = providers(resources)
    external_id: str | None = None
    try:
        if payment.payment_method == "telegram_stars":
            if payer is None:
                raise ProviderError("the Telegram user who paid is not recorded")  # noqa: TRY301 - failed like a refusal
            await clients.stars.refund_star_payment(
                telegram_user_id=payer, telegram_payment_charge_id=payment.external_id
            )
            external_id = payment.external_id
            status = "succeeded"
        else:
            document = await clients.yookassa.create_refund(
                {
                    "payment_id": payment.external_id,
                    "amount": {"value": f"{refund.amount:.2f}", "currency": refund.currency},
                    "description": _short(refund.reason, 250),
                },
                idempotence_key=refund.idempotence_key,
            )
            external_id, status = str(document["id"]), str(document.get("status"))
    except ProviderUnavailableError:
        log.warning("refund left pending: the provider is unavailable", extra={"refund_id": refund_id})
        async with transaction(resources.sessionmaker) as session:
            found = await RefundRepository(session).get(refund_id)
            return RefundOut.model_validate(found)
    except ProviderError as exc:
        async with transaction(resources.sessionmaker) as session:
            await _fail_refund(session, refund_id, exc.message)
            found = await RefundRepository(session).get(refund_id)
            return RefundOut.model_validate(found)
    async with transaction(resources.sessionmaker) as session:
        if status == "succeeded":
            await _finish_refund(session, refund_id, external_id)
        elif status == "canceled":
            await _fail_refund(session, refund_id, "canceled by the provider")
        else:
            locked = await RefundRepository(session).get(refund_id, lock=True)
            assert locked is not None
            locked.external_id = external_id
            await session.flush()
        found = await RefundRepository(session).get(refund_id)
        return RefundOut.model_validate(found)


async def _finish_refund(session: AsyncSession, refund_id: int, external_id: str | None) -> bool:
    """Record a refund the provider made; False when it was recorded before."""
    refund = await RefundRepository(session).get(refund_id, lock=True)
    assert refund is not None
    if refund.status != "pending":
        return False
    now = _now()
    refund.status, refund.succeeded_at, refund.external_id = "succeeded", now, external_id
    assert refund.payment_id is not None
    payment = await PaymentRepository(session).get(refund.payment_id, lock=True)
    assert payment is not None
    payment.refunded_amount = payment.refunded_amount + refund.amount
    if payment.refunded_amount >= payment.amount:
        payment.status = "refunded"
    await session.flush()
    await messaging.publish(
        session,
        PaymentRefundedV1(
            payment_id=payment.id,
            user_id=payment.user_id,
            amount=_money(refund.amount, refund.currency),
            provider=_provider(payment),
            refund_id=external_id or f"refund-{refund.id}",
            refunded_at=now,
        ),
        event_id=_event_id("payment_refunded", refund.id),
    )
    metrics.REFUNDS.labels(payment.payment_method, "succeeded").inc()
    if payment.purpose == "course" and payment.status == "refunded":
        purchase = await PurchaseRepository(session).by_payment(payment.id, lock=True)
        if purchase is not None and purchase.status == "active":
            await _reverse_purchase(session, purchase, refund, now)
    return True


async def _fail_refund(session: AsyncSession, refund_id: int, reason: str) -> bool:
    refund = await RefundRepository(session).get(refund_id, lock=True)
    assert refund is not None
    if refund.status != "pending":
        return False
    refund.status, refund.failure_reason = "failed", reason[:1000]
    await session.flush()
    taken = await WalletRepository(session).transaction_by_reference(f"refund:{refund.id}:debit")
    if taken is not None:  # the coins a top-up refund took back return to the wallet
        await wallet.credit(
            session,
            user_id=refund.user_id,
            coins=-taken.amount,
            type="refund",
            reference=f"refund:{refund.id}:restore",
            description="Возврат не состоялся: монеты возвращены",
            payment_id=refund.payment_id,
        )
    log.warning("refund failed", extra={"refund_id": refund.id})
    metrics.REFUNDS.labels("any", "failed").inc()
    return True


async def _reverse_purchase(session: AsyncSession, purchase: Purchase, refund: Refund, at: datetime) -> None:
    await PurchaseRepository(session).mark_refunded(purchase.id, at)
    await messaging.publish(
        session,
        PurchaseRefundedV1(
            purchase_id=purchase.id,
            user_id=purchase.user_id,
            course_id=purchase.course_id,
            payment_id=purchase.payment_id,
            amount=_money(refund.amount, refund.currency),
            reason=refund.reason,
            refunded_at=at,
        ),
        event_id=_event_id("purchase_refunded", purchase.id),
    )


async def refund_purchase(
    resources: Resources, *, purchase_id: int, reason: str, requested_by: str, request_key: str
) -> RefundOut:
    """Reverse a purchase: a wallet purchase gets its coins back at once; a purchase paid through a
    provider is refunded whole there (see `request_refund`). Either way the learner loses the course."""
    key = _key("rfp", requested_by, request_key)
    async with transaction(resources.sessionmaker) as session:
        await hold_payment_key(session, key)
        refunds = RefundRepository(session)
        # A purchase paid through a provider is refunded as its payment, under a key derived from this one.
        existing = await refunds.by_idempotence_key(key) or await refunds.by_idempotence_key(
            _key("rf", requested_by, key)
        )
        if existing is not None:
            paid_by = await PurchaseRepository(session).get(purchase_id)
            if existing.purchase_id != purchase_id and (paid_by is None or existing.payment_id != paid_by.payment_id):
                raise ValidationFailedError(
                    "this Idempotency-Key was already used for another refund",
                    details={"refund_id": existing.id, "purchase_id": existing.purchase_id},
                )
            return RefundOut.model_validate(existing)
        purchase = await PurchaseRepository(session).get(purchase_id, lock=True)
        if purchase is None:
            raise NotFoundError(f"purchase {purchase_id} not found")
        if purchase.status != "active":
            raise NotRefundableError(f"purchase {purchase_id} is refunded already")
        payment_id = purchase.payment_id
        if payment_id is None:
            spent = await session.get(WalletTransaction, purchase.wallet_transaction_id)
            assert spent is not None
            now = _now()
            refund = await refunds.create(
                user_id=purchase.user_id,
                purchase_id=purchase.id,
                amount=purchase.price if purchase.price > 0 else Decimal(-spent.amount),
                currency=purchase.currency,
                reason=reason[:500],
                requested_by=requested_by[:200],
                idempotence_key=key,
                status="succeeded",
                succeeded_at=now,
            )
            await wallet.credit(
                session,
                user_id=purchase.user_id,
                coins=-spent.amount,
                type="refund",
                reference=f"purchase:{purchase.id}:refund",
                description=f"Возврат покупки курса #{purchase.course_id}",
            )
            await _reverse_purchase(session, purchase, refund, now)
            metrics.REFUNDS.labels("wallet", "succeeded").inc()
            return RefundOut.model_validate(refund)
    return await request_refund(
        resources,
        payment_id=payment_id,
        amount=None,
        reason=reason,
        requested_by=requested_by,
        request_key=key,
        purchase_id=purchase_id,
    )


# -- reconciliation --------------------------------------------------------------------------------


_STARS_CURSOR = "billing:stars-transactions-seen"
_STARS_PAGE = 100  # getStarTransactions: at most 100 a call


async def reconcile_stars(resources: Resources) -> int:
    """Apply Stars payments whose `successful_payment` never reached us (a lost update, a gateway that
    crashed before it told billing), from the bot's Star transactions; returns how many were applied.

    Transactions come in chronological order, so the number already read is a cursor; with it the id
    of the last one read is kept, and a pass starts by reading that one again: when it is not where it
    was (another bot token, a Bot API server that started afresh), the history is read from the start.
    The cursor lives in Redis: losing it only means reading the history again, which applies nothing
    twice (a payment is recorded once per charge id).
    """
    settings = resources.settings_as(BillingSettings)
    key = resources.rkey(_STARS_CURSOR)
    stars = providers(resources).stars
    offset, last_id = _stars_cursor(await resources.redis.get(key))
    if offset > 0:
        anchor = await stars.star_transactions(offset=offset - 1, limit=1)
        if not anchor or anchor[0].get("id") != last_id:
            log.warning("the Star transactions are not where we left them; reading them from the start")
            offset, last_id = 0, None
    applied = 0
    while True:
        transactions = await stars.star_transactions(offset=offset, limit=_STARS_PAGE)
        for item in transactions:
            applied += await _apply_star_transaction(resources, settings, item)
        offset += len(transactions)
        if transactions:
            last_id = transactions[-1].get("id")
        await resources.redis.set(key, json.dumps({"offset": offset, "last_id": last_id}))
        if len(transactions) < _STARS_PAGE:
            return applied


def _stars_cursor(saved: str | bytes | None) -> tuple[int, str | None]:
    """(transactions read, id of the last one) from what Redis holds; anything else reads from the start."""
    try:
        cursor = json.loads(saved or "{}")
        offset, last_id = int(cursor["offset"]), cursor.get("last_id")
    except (ValueError, TypeError, KeyError, AttributeError):
        return 0, None
    return (offset, str(last_id)) if offset > 0 and last_id else (0, None)


async def _apply_star_transaction(resources: Resources, settings: BillingSettings, item: dict[str, Any]) -> int:
    source = item.get("source") or {}
    payload = source.get("invoice_payload")
    user = source.get("user") or {}
    if source.get("type") != "user" or not payload or not user.get("id"):
        return 0  # an outgoing transaction (a refund), or one that is not an invoice payment
    charge_id = str(item["id"])
    async with transaction(resources.sessionmaker) as session:
        repo = PaymentRepository(session)
        if await repo.by_external_id("telegram_stars", charge_id) is not None:
            return 0
        payment = await repo.by_invoice_payload(str(payload))
        if payment is None:
            log.error("a Star transaction for an invoice that is not ours", extra={"charge_id": charge_id})
            return 0
        paid = StarsPayment(
            payload=str(payload),
            user_id=payment.user_id,
            telegram_user_id=int(user["id"]),
            currency="XTR",
            total_amount=int(item["amount"]),
            telegram_payment_charge_id=charge_id,
        )
        result = await record_stars_payment(session, settings, paid)
    log.warning("a Stars payment nobody told us about was applied", extra={"payment_id": result.answer.payment_id})
    if result.refund_id is not None:
        await complete_refund(resources, result.refund_id)
    return 1


async def reconcile_once(resources: Resources, *, batch: int = 100) -> dict[str, int]:  # noqa: C901 - four passes
    """One pass of the reconciliation job: apply Stars payments we were never told about, expire unpaid
    Stars invoices, re-read YooKassa payments left pending past the timeout (notifications get lost), and
    finish refunds whose provider call did not complete. Returns counts of what it did."""
    settings = resources.settings_as(BillingSettings)
    now = _now()
    counts = {"invoices_expired": 0, "payments_settled": 0, "payments_abandoned": 0, "refunds_completed": 0}
    try:
        counts["stars_payments_applied"] = await reconcile_stars(resources)
    except (ProviderUnavailableError, ProviderError) as exc:
        log.warning("reconciliation could not read the Star transactions", extra={"error": str(exc)})
    async with transaction(resources.sessionmaker) as session:
        repo = PaymentRepository(session)
        for payment_id in await repo.expired_invoices(expired_before=now - _INVOICE_GRACE, limit=batch):
            payment = await repo.get(payment_id, lock=True)
            if payment is not None and payment.status == "pending":
                await _mark_failed(session, payment, "expired")
                counts["invoices_expired"] += 1
        stale = await repo.unsettled(
            method="yookassa", created_before=now - timedelta(seconds=settings.yookassa_pending_timeout_s), limit=batch
        )
    for payment_id in stale:
        async with transaction(resources.sessionmaker) as session:
            payment = await PaymentRepository(session).get(payment_id, lock=True)
            if payment is None or payment.status not in ("pending", "waiting_for_capture"):
                continue
            external_id = payment.external_id
            if external_id is None:
                # YooKassa never confirmed creating it, so the learner never saw a page to pay on.
                await _mark_failed(session, payment, "not_created")
                counts["payments_abandoned"] += 1
                continue
        try:
            outcome = await settle_yookassa_payment(resources, external_id)
        except (ProviderUnavailableError, ProviderError) as exc:
            log.warning(
                "reconciliation could not re-read a payment", extra={"payment_id": payment_id, "error": str(exc)}
            )
            continue
        if outcome in ("succeeded", "canceled"):
            counts["payments_settled"] += 1
    async with transaction(resources.sessionmaker) as session:
        pending = await RefundRepository(session).pending(created_before=now - timedelta(seconds=30), limit=batch)
    for refund_id in pending:
        try:
            async with transaction(resources.sessionmaker) as session:
                refund = await RefundRepository(session).get(refund_id)
            if refund is not None and refund.external_id is not None and refund.currency != "XTR":
                outcome = await settle_yookassa_refund(resources, refund.external_id)
                done = outcome in ("succeeded", "failed")
            else:
                done = (await complete_refund(resources, refund_id)).status != "pending"
        except (ProviderUnavailableError, ProviderError) as exc:
            log.warning("reconciliation could not finish a refund", extra={"refund_id": refund_id, "error": str(exc)})
            continue
        counts["refunds_completed"] += int(done)
    return counts
