"""Payments over HTTP: the learner's side (offers, wallet purchases, Stars invoices, top-ups), Telegram's
Stars updates as the gateway passes them on, the operators' side (refunds, rates, reconciliation) and
YooKassa's notifications."""

from __future__ import annotations

import json
import logging
import re
from ipaddress import ip_address, ip_network
from typing import Annotated, Any, Literal

from academy_runtime.db import SessionDep
from academy_runtime.dependencies import ResourcesDep
from academy_runtime.errors import ForbiddenError, NotFoundError, ValidationFailedError, error_responses
from academy_runtime.ids import BigIntegerId, CourseId, UserId
from academy_runtime.resources import Resources
from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy import text
from yookassa.domain.notification import WebhookNotificationFactory

from academy_billing import metrics
from academy_billing.dependencies import (
    FinanceOperator,
    FinanceReader,
    LearnerCommand,
    LearnerMoneyReader,
    PaymentId,
    PurchaseId,
    RequiredIdempotencyKey,
    SettingsDep,
)
from academy_billing.learners.service import idempotency_subject, require_learner
from academy_billing.models import messaging
from academy_billing.payments import service
from academy_billing.payments.providers import ProviderError
from academy_billing.payments.reconciliation import reconciliation_report
from academy_billing.payments.repository import PaymentRepository, PurchaseRepository, RefundRepository
from academy_billing.payments.schemas import (
    BuyWithWallet,
    CreateStarsInvoice,
    Offer,
    PaymentOut,
    PaymentPage,
    PreCheckout,
    PreCheckoutAnswer,
    PurchaseOut,
    RateIn,
    RateOut,
    ReconciliationReport,
    RefundOut,
    RefundPurchase,
    RequestRefund,
    StarsInvoiceOut,
    StarsPayment,
    StarsPaymentOut,
    StartTopUp,
    WalletPurchaseOut,
)
from academy_billing.rates import service as rates

log = logging.getLogger(__name__)

learners = APIRouter(prefix="/internal/learners", tags=["payments"])
stars = APIRouter(prefix="/internal/stars", tags=["payments"])
operators = APIRouter(prefix="/internal", tags=["operators"])
webhooks = APIRouter(prefix="/webhooks", tags=["provider notifications"])

Locale = Annotated[Literal["ru", "en"], Query(description="Language of the invoice's title and description.")]
# Path examples: the world `schemas.py` describes (and billing's API tests seed).
_Learner = Annotated[UserId, Path(examples=[1])]
_PayingLearner = Annotated[UserId, Path(examples=[2])]
_Course = Annotated[CourseId, Path(examples=[1])]
_Payment = Annotated[PaymentId, Path(examples=[1])]
_Purchase = Annotated[PurchaseId, Path(examples=[1])]
_MAX_NOTIFICATION_BYTES = 64 * 1024
# YooKassa's payment and refund ids are UUID-shaped ("22e12f66-000f-5000-8000-18db351245c7").
_YOOKASSA_ID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_YOOKASSA_ID = re.compile(_YOOKASSA_ID_PATTERN)
_SETTLED_EVENTS = frozenset(
    {"payment.succeeded", "payment.canceled", "payment.waiting_for_capture", "refund.succeeded"}
)
# A YooKassa payment asks the users service for the receipt's phone, then YooKassa: either may be down.
_YOOKASSA_PAYMENT_ERRORS = error_responses(
    404,
    409,
    502,
    503,
    s404="`learner_not_found`: nobody registered the learner (or they were erased); `not_found`: billing "
    "does not know the course.",
    s502="YooKassa refused the payment.",
    s503="The users service or YooKassa cannot be reached; retry with the same Idempotency-Key.",
)
# What YooKassa sends (https://yookassa.ru/developers/using-api/webhooks), as far as billing reads it: the
# body is parsed by hand (its size and source are checked first), so FastAPI cannot document it.
_NOTIFICATION_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["type", "event", "object"],
                "properties": {
                    "type": {"const": "notification"},
                    "event": {"type": "string", "examples": sorted(_SETTLED_EVENTS)},
                    "object": {
                        "type": "object",
                        "required": ["id"],
                        "properties": {"id": {"type": "string", "pattern": _YOOKASSA_ID_PATTERN}},
                    },
                },
            }
        }
    },
}


# -- the learner's side ----------------------------------------------------------------------------


@learners.get("/{user_id}/offers/{course_id}", responses=error_responses(404), response_model=Offer)
async def get_offer(
    user_id: _Learner, course_id: _Course, session: SessionDep, settings: SettingsDep, _: LearnerMoneyReader
) -> Offer:
    """Every way this learner can pay for the course (Stars, coins), their balance and whether they own it.
    404 when billing has not heard of the course."""
    return await service.offer(session, settings, user_id=user_id, course_id=course_id)


@learners.post("/{user_id}/purchases", responses=error_responses(404, 409, 503), response_model=WalletPurchaseOut)
async def buy_with_wallet(
    *,
    user_id: _Learner,
    command: BuyWithWallet,
    session: SessionDep,
    resources: ResourcesDep,
    settings: SettingsDep,
    request: Request,
    _: LearnerCommand,
    idempotency_key: RequiredIdempotencyKey,
) -> WalletPurchaseOut:
    """Charge the course to the learner's wallet. 409 `insufficient_funds` (details: balance, requested),
    `already_owned`, `price_changed` (details: coins_price), `not_on_sale`; 404 unknown course, or
    `learner_not_found` for a learner nobody registered (`learners.service`)."""
    await require_learner(session, resources, user_id)

    async def buy() -> WalletPurchaseOut:
        purchase, spent, created = await service.buy_with_wallet(
            session, settings, user_id=user_id, command=command, request_key=idempotency_key
        )
        return WalletPurchaseOut(
            purchase_id=purchase.id,
            course_id=purchase.course_id,
            coins=-spent.amount,
            balance=spent.balance_after,
            created=created,
        )

    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        payload={"user_id": user_id, **command.model_dump()},
        response_model=WalletPurchaseOut,
        action=buy,
        subject=idempotency_subject(user_id),
    )


@learners.get("/{user_id}/purchases", response_model=list[PurchaseOut])
async def list_purchases(user_id: UserId, session: SessionDep, _: LearnerMoneyReader) -> list[PurchaseOut]:
    """The learner's purchases, newest first, refunded ones included."""
    return [PurchaseOut.model_validate(p) for p in await PurchaseRepository(session).of_learner(user_id)]


@learners.get("/{user_id}/payments", response_model=PaymentPage)
async def list_payments(
    user_id: UserId,
    session: SessionDep,
    _: LearnerMoneyReader,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    before_id: Annotated[BigIntegerId | None, Query(description="Id of the last item of the previous page.")] = None,
) -> PaymentPage:
    """The learner's provider payments, newest first (keyset pagination with `next_before_id`)."""
    rows = await PaymentRepository(session).of_learner(user_id, limit=limit + 1, before_id=before_id)
    items = [PaymentOut.model_validate(p) for p in rows[:limit]]
    return PaymentPage(items=items, next_before_id=items[-1].id if len(rows) > limit else None)


@learners.get("/{user_id}/payments/{payment_id}", responses=error_responses(404), response_model=PaymentOut)
async def get_learner_payment(
    user_id: _PayingLearner, payment_id: _Payment, session: SessionDep, _: LearnerMoneyReader
) -> PaymentOut:
    """One of the learner's payments (404 when it is not theirs)."""
    payment = await PaymentRepository(session).get(payment_id)
    if payment is None or payment.user_id != user_id:
        raise NotFoundError(f"learner {user_id} has no payment {payment_id}")
    return PaymentOut.model_validate(payment)


@learners.post("/{user_id}/stars-invoices", responses=error_responses(404, 409, 503), response_model=StarsInvoiceOut)
async def create_stars_invoice(
    *,
    user_id: UserId,
    command: CreateStarsInvoice,
    session: SessionDep,
    resources: ResourcesDep,
    settings: SettingsDep,
    _: LearnerCommand,
    idempotency_key: RequiredIdempotencyKey,
    locale: Locale = "ru",
) -> StarsInvoiceOut:
    """A Stars invoice for a course or a top-up: what the gateway passes to `sendInvoice`. The same key
    returns the same invoice. 409 `already_owned`, `not_on_sale`, `stars_top_up_disabled`; 404 unknown
    course, or `learner_not_found` for a learner nobody registered (`learners.service`)."""
    await require_learner(session, resources, user_id)
    return await service.create_stars_invoice(
        session, settings, user_id=user_id, command=command, request_key=idempotency_key, locale=locale
    )


@learners.post("/{user_id}/top-ups", responses=_YOOKASSA_PAYMENT_ERRORS, response_model=PaymentOut)
async def start_top_up(
    user_id: UserId,
    command: StartTopUp,
    resources: ResourcesDep,
    _: LearnerCommand,
    idempotency_key: RequiredIdempotencyKey,
) -> PaymentOut:
    """A YooKassa payment that tops the wallet up; the learner pays at `confirmation_url`. 422 outside the
    limits a deployment sets (MIN_TOP_UP_RUB..MAX_TOP_UP_RUB, within the schema's); 503 when the users
    service or YooKassa cannot be reached (retry with the same key)."""
    return await service.start_yookassa_payment(
        resources, user_id=user_id, amount_rub=command.amount_rub, course_id=None, request_key=idempotency_key
    )


@learners.post("/{user_id}/course-payments/{course_id}", responses=_YOOKASSA_PAYMENT_ERRORS, response_model=PaymentOut)
async def start_course_payment(
    user_id: UserId,
    course_id: CourseId,
    resources: ResourcesDep,
    _: LearnerCommand,
    idempotency_key: RequiredIdempotencyKey,
) -> PaymentOut:
    """A YooKassa payment for a course priced in roubles (web payments outside Telegram)."""
    return await service.start_yookassa_payment(
        resources, user_id=user_id, amount_rub=None, course_id=course_id, request_key=idempotency_key
    )


# -- Telegram Stars, as the gateway passes Telegram's updates on -----------------------------------


@stars.post("/pre-checkout", response_model=PreCheckoutAnswer)
async def pre_checkout(
    query: PreCheckout, session: SessionDep, settings: SettingsDep, _: LearnerCommand
) -> PreCheckoutAnswer:
    """Whether Telegram may take the Stars now; always 200, a refusal carries a reason code."""
    return await service.check_pre_checkout(session, settings, query)


@stars.post("/payments", responses=error_responses(404), response_model=StarsPaymentOut)
async def successful_payment(
    paid: StarsPayment, resources: ResourcesDep, settings: SettingsDep, _: LearnerCommand
) -> StarsPaymentOut:
    """Apply Telegram's `successful_payment` once (idempotent on `telegram_payment_charge_id`). 404 for a
    payload that is not ours."""
    async with resources.sessionmaker() as session, session.begin():
        result = await service.record_stars_payment(session, settings, paid)
    if result.refund_id is not None:
        await service.complete_refund(resources, result.refund_id)
    return result.answer


# -- operators -------------------------------------------------------------------------------------


@operators.get("/payments/{payment_id}", responses=error_responses(404), response_model=PaymentOut)
async def get_payment(payment_id: PaymentId, session: SessionDep, _: FinanceReader) -> PaymentOut:
    payment = await PaymentRepository(session).get(payment_id)
    if payment is None:
        raise NotFoundError(f"payment {payment_id} not found")
    return PaymentOut.model_validate(payment)


@operators.get("/payments/{payment_id}/refunds", response_model=list[RefundOut])
async def list_refunds(payment_id: PaymentId, session: SessionDep, _: FinanceReader) -> list[RefundOut]:
    return [RefundOut.model_validate(r) for r in await RefundRepository(session).of_payment(payment_id)]


@operators.post("/payments/{payment_id}/refunds", responses=error_responses(404, 409), response_model=RefundOut)
async def refund_payment(
    payment_id: _Payment,
    command: RequestRefund,
    resources: ResourcesDep,
    caller: FinanceOperator,
    idempotency_key: RequiredIdempotencyKey,
) -> RefundOut:
    """Refund a payment, whole (no `amount`) or in part (YooKassa only; Telegram refunds Stars whole). A
    course paid in full back loses its purchase; a top-up's coins are taken back (409 when spent).
    `status` is `pending` when the provider could not be reached: the reconciliation job finishes it."""
    return await service.request_refund(
        resources,
        payment_id=payment_id,
        amount=command.amount,
        reason=command.reason,
        requested_by=caller.actor,
        request_key=idempotency_key,
    )


@operators.post("/purchases/{purchase_id}/refund", responses=error_responses(404, 409), response_model=RefundOut)
async def refund_purchase(
    purchase_id: _Purchase,
    command: RefundPurchase,
    resources: ResourcesDep,
    caller: FinanceOperator,
    idempotency_key: RequiredIdempotencyKey,
) -> RefundOut:
    """Reverse a purchase: coins back for a wallet purchase, the provider payment refunded otherwise."""
    return await service.refund_purchase(
        resources,
        purchase_id=purchase_id,
        reason=command.reason,
        requested_by=caller.actor,
        request_key=idempotency_key,
    )


@operators.get("/reconciliation", response_model=ReconciliationReport)
async def get_reconciliation(session: SessionDep, _: FinanceOperator) -> ReconciliationReport:
    """Balances against the ledger, provider payments against credits and purchases, refunds against
    refunded amounts, in one snapshot; `differences` lists what disagrees."""
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    return await reconciliation_report(session)


def _rate_out(rate: rates.Rate) -> RateOut:
    return RateOut(
        currency=rate.currency,
        stars_per_unit=rate.stars_per_unit,
        coins_per_unit=rate.coins_per_unit,
        source=rate.source,
    )


@operators.get("/exchange-rates", response_model=list[RateOut])
async def list_rates(session: SessionDep, settings: SettingsDep, _: FinanceOperator) -> list[RateOut]:
    """Stars and coins per unit of each currency billing takes."""
    return [_rate_out(rate) for rate in await rates.all_rates(session, settings)]


@operators.put("/exchange-rates/{currency}", response_model=RateOut)
async def set_rate(
    currency: Literal["RUB", "USD", "XTR"], command: RateIn, session: SessionDep, caller: FinanceOperator
) -> RateOut:
    """Set the rate an operator chose; course prices in Stars and coins follow at once."""
    rate = await rates.set_rate(
        session,
        currency=currency,
        stars_per_unit=command.stars_per_unit,
        coins_per_unit=command.coins_per_unit,
        updated_by=caller.actor,
    )
    return _rate_out(rate)


# -- YooKassa notifications ------------------------------------------------------------------------


class NotificationAccepted(BaseModel):
    status: Literal["accepted"] = "accepted"


def _trusted(address: str | None, networks: list[str]) -> bool:
    if not address:
        return False
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in ip_network(network, strict=False) for network in networks)


async def _settle_quietly(resources: Resources, event: str, object_id: str) -> None:
    """Settle after the answer went out; a failure here is retried by the reconciliation job."""
    try:
        if event.startswith("refund."):
            outcome = await service.settle_yookassa_refund(resources, object_id)
        else:
            outcome = await service.settle_yookassa_payment(resources, object_id)
        log.info("YooKassa notification settled", extra={"event": event, "outcome": outcome})
    except ProviderError as exc:
        # YooKassa refused to show it (not found): nothing of ours to settle, nothing to retry.
        metrics.NOTIFICATIONS.labels("unknown_payment").inc()
        log.warning("YooKassa does not know the notification's object", extra={"event": event, "error": exc.message})
    except Exception:
        log.exception("settling a YooKassa notification failed; reconciliation will retry", extra={"event": event})


@webhooks.post(
    "/yookassa",
    response_model=NotificationAccepted,
    responses=error_responses(403, s403="Not from YooKassa's networks."),
    openapi_extra={"requestBody": _NOTIFICATION_BODY},
)
async def yookassa_notification(
    request: Request, resources: ResourcesDep, settings: SettingsDep, background: BackgroundTasks
) -> NotificationAccepted:
    """YooKassa's HTTP notification. Accepted only from YooKassa's networks (YOOKASSA_TRUSTED_NETWORKS)
    and answered 200 at once; its body is only a hint: the payment or refund is re-read from the API
    after the answer, and only what the API says is applied."""
    address = request.client.host if request.client else None
    if not _trusted(address, settings.yookassa_trusted_networks):
        metrics.NOTIFICATIONS.labels("untrusted_source").inc()
        log.warning("YooKassa notification from an untrusted address refused", extra={"address": address})
        raise ForbiddenError("notifications are accepted from YooKassa's networks only")
    body = await request.body()
    if len(body) > _MAX_NOTIFICATION_BYTES:
        metrics.NOTIFICATIONS.labels("malformed").inc()
        raise ValidationFailedError("a YooKassa notification is a small JSON document")
    try:
        document: Any = json.loads(body)
        notification = WebhookNotificationFactory().create(document)
        event = str(notification.event)
        object_id = str(notification.object.id)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        metrics.NOTIFICATIONS.labels("malformed").inc()
        raise ValidationFailedError("not a YooKassa notification") from exc
    if not _YOOKASSA_ID.fullmatch(object_id):
        metrics.NOTIFICATIONS.labels("malformed").inc()
        raise ValidationFailedError("the notification's object id is not a YooKassa id")
    if event not in _SETTLED_EVENTS:
        metrics.NOTIFICATIONS.labels("ignored").inc()
        return NotificationAccepted()
    metrics.NOTIFICATIONS.labels("accepted").inc()
    background.add_task(_settle_quietly, resources, event, object_id)
    return NotificationAccepted()
