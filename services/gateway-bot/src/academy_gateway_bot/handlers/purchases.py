"""Buying a course: with coins from the wallet, or in Telegram Stars (invoice → pre-checkout → payment).

Billing decides everything about money; the bot shows billing's offer, asks it to act and turns its
error codes (`ServiceCallError.code`) into sentences. A purchase opens the course through progress
(billing.course_purchased → progress enrols → progress.course_enrolled, source `purchase`); the
notifications consumer then says «Курс открыт» with the first lesson.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from academy_runtime.client import ServiceCallError
from academy_runtime.errors import DependencyUnavailableError, NotFoundError
from academy_runtime.resources import Resources
from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, LabeledPrice, Message, PreCheckoutQuery

from academy_gateway_bot import keyboards
from academy_gateway_bot.callbacks import BuyCb, CourseCb
from academy_gateway_bot.clients import ServiceClients, StarsInvoice, StarsPaymentOutcome
from academy_gateway_bot.context import LearnerCtx, load_learner
from academy_gateway_bot.handlers.learning import catalog_course, show_course_card
from academy_gateway_bot.i18n import _, has_message, use_locale
from academy_gateway_bot.money import course_offer
from academy_gateway_bot.presses import first_press
from academy_gateway_bot.screens import answer_callback, course_title, escape, format_coins, not_registered, show

log = logging.getLogger(__name__)

STARS = "XTR"
# Telegram drops a pre-checkout query not answered within 10 s; whatever happens, we answer before.
PRE_CHECKOUT_BUDGET_S = 7.0
# A successful payment must reach billing: Stars were taken. Tries beyond the client's own retries.
PAYMENT_REPORT_DELAYS_S = (1.0, 3.0, 8.0)


# -- the course card's buttons ---------------------------------------------------------------------


async def buy_button(  # noqa: PLR0917 - aiogram injects what the handler needs
    callback: CallbackQuery,
    callback_data: BuyCb,
    learner: LearnerCtx | None,
    clients: ServiceClients,
    bot: Bot,
    idempotency_key: str,
    resources: Resources,
) -> None:
    if learner is None:
        await not_registered(callback)
        return
    if callback_data.action == "stars":
        async with first_press(resources, learner.telegram_id, f"stars-invoice:{callback_data.course_id}") as first:
            if not first:
                await answer_callback(callback, _("money-invoice-sent"))  # one invoice is enough
                return
            await send_course_invoice(callback, callback_data, learner, clients, bot, idempotency_key)
    elif callback_data.action == "coins":
        await coins_chosen(callback, callback_data, learner, clients, idempotency_key)
    else:
        await buy_with_coins(callback, callback_data, learner, clients, idempotency_key)


async def send_course_invoice(  # noqa: PLR0917
    callback: CallbackQuery,
    callback_data: BuyCb,
    learner: LearnerCtx,
    clients: ServiceClients,
    bot: Bot,
    idempotency_key: str,
) -> None:
    """«Оплатить ⭐ N»: billing prepares a pending Stars payment, the bot sends its invoice."""
    locale = learner.locale
    course_id = callback_data.course_id
    try:
        invoice = await clients.billing.stars_invoice(
            learner.user_id,
            {"purpose": "course", "course_id": course_id},
            locale=locale,
            idempotency_key=f"{idempotency_key}:stars-invoice",
        )
    except NotFoundError:
        await answer_callback(callback, _("course-not-found"), alert=True)
        return
    except ServiceCallError as exc:
        if exc.code not in {"already_owned", "not_on_sale"}:
            raise
        await refused(callback, learner, clients, course_id, exc)
        return
    await answer_callback(callback, _("money-invoice-sent"))
    await send_stars_invoice(bot, learner.telegram_id, invoice)


async def send_stars_invoice(bot: Bot, chat_id: int, invoice: StarsInvoice) -> None:
    """Telegram's rules for digital goods: currency XTR, an empty provider token, exactly one price."""
    await bot.send_invoice(
        chat_id,
        title=invoice.title,
        description=invoice.description,
        payload=invoice.payload,
        currency=STARS,
        prices=[LabeledPrice(label=invoice.title, amount=invoice.amount)],
        provider_token="",
    )


async def coins_chosen(
    callback: CallbackQuery,
    callback_data: BuyCb,
    learner: LearnerCtx,
    clients: ServiceClients,
    idempotency_key: str,
) -> None:
    """«Купить за N монет»: the confirmation step, or the purchase at once when the learner turned it off."""
    offer = await course_offer(clients, learner.user_id, callback_data.course_id)
    if offer is None:
        await answer_callback(callback, _("money-payment-unavailable"), alert=True)
        return
    if offer.get("owned") or not offer.get("on_sale") or offer.get("coins_price") is None:
        # Bought meanwhile, free or off sale now (no coins price): billing's refusal says which.
        await buy_with_coins(callback, callback_data, learner, clients, idempotency_key)
        return
    coins = int(offer["coins_price"])
    if coins != callback_data.coins or offer["balance"] < coins:
        # Something changed since the card was shown: the purchase call says what, in billing's words.
        await buy_with_coins(callback, callback_data, learner, clients, idempotency_key)
        return
    if not offer.get("confirm_wallet_purchases", True):
        await buy_with_coins(callback, callback_data, learner, clients, idempotency_key)
        return
    balance = int(offer["balance"])
    text = _(
        "money-confirm-text",
        title=escape(offer.get("title") or course_title({"course_id": callback_data.course_id})),
        coins=format_coins(coins, case="acc"),
        balance=format_coins(balance),
        left=format_coins(balance - coins),
    )
    await answer_callback(callback)
    await show(callback, text, keyboards.confirm_purchase(callback_data.course_id, coins))


async def buy_with_coins(
    callback: CallbackQuery,
    callback_data: BuyCb,
    learner: LearnerCtx,
    clients: ServiceClients,
    idempotency_key: str,
) -> None:
    """Billing charges the wallet the price the learner saw (`coins`), or says why not."""
    course_id = callback_data.course_id
    try:
        purchase = await clients.billing.buy_with_coins(
            learner.user_id, course_id, callback_data.coins, idempotency_key=f"{idempotency_key}:purchase"
        )
    except NotFoundError:
        await answer_callback(callback, _("course-not-found"), alert=True)
        return
    except ServiceCallError as exc:
        if exc.code not in {"insufficient_funds", "already_owned", "price_changed", "not_on_sale"}:
            raise
        await refused(callback, learner, clients, course_id, exc)
        return
    await answer_callback(callback)
    text = _(
        "money-purchased",
        title=escape(await title_of(clients, course_id)),
        coins=format_coins(purchase.coins, case="acc"),
        balance=format_coins(purchase.balance),
    )
    await show(callback, text)


async def refused(
    callback: CallbackQuery, learner: LearnerCtx, clients: ServiceClients, course_id: int, error: ServiceCallError
) -> None:
    """Billing's refusal of a purchase or an invoice, as a screen with what the learner can do next."""
    title = escape(await title_of(clients, course_id))
    details = error.details or {}
    if error.code == "already_owned":
        await answer_callback(callback)
        await show(callback, _("money-already-owned", title=title), keyboards.owned_course(course_id))
        return
    if error.code == "not_on_sale":
        await answer_callback(callback, _("money-not-on-sale", title=title), alert=True)
        await show_course_card(callback, learner, clients, CourseCb(action="card", course_id=course_id), edit=True)
        return
    offer = await course_offer(clients, learner.user_id, course_id)
    markup = keyboards.after_refusal(course_id, offer)
    if error.code == "price_changed":
        coins = int(details.get("coins_price") or (offer or {}).get("coins_price") or 0)
        text = _("money-price-changed", coins=format_coins(coins))
    else:  # insufficient_funds
        balance = int(details.get("balance", (offer or {}).get("balance", 0)))
        requested = int(details.get("requested", (offer or {}).get("coins_price", 0)))
        text = _(
            "money-insufficient",
            title=title,
            balance=format_coins(balance),
            coins=format_coins(requested),
            missing=format_coins(max(0, requested - balance), case="gen"),
        )
    await answer_callback(callback)
    await show(callback, text, markup)


async def title_of(clients: ServiceClients, course_id: int) -> str:
    course = await catalog_course(clients, course_id)
    return course_title(course or {"course_id": course_id})


# -- Telegram Stars: pre-checkout and the successful payment ---------------------------------------


async def pre_checkout(query: PreCheckoutQuery, clients: ServiceClients, resources: Resources) -> None:
    """Telegram asks whether to take the Stars; billing checks the invoice (price, course, owner).

    Always answered, within Telegram's 10 s: a failure to ask billing declines with "try again later"
    (no Stars are taken), never a silent timeout.
    """
    try:
        async with asyncio.timeout(PRE_CHECKOUT_BUDGET_S):
            ok, error_message = await check_invoice(query, clients, resources)
    except Exception:
        log.exception("pre-checkout could not be checked", extra={"query_id": query.id})
        ok, error_message = False, _("precheckout-retry-later")
    await query.answer(ok=ok, error_message=None if ok else error_message)


async def check_invoice(query: PreCheckoutQuery, clients: ServiceClients, resources: Resources) -> tuple[bool, str]:
    learner = await load_learner(resources.redis, resources.settings.redis_prefix, clients, query.from_user.id)
    if learner is None:
        return False, _("precheckout-not-registered")
    with use_locale(learner.locale):
        return await _ask_billing(query, learner, clients)


async def _ask_billing(query: PreCheckoutQuery, learner: LearnerCtx, clients: ServiceClients) -> tuple[bool, str]:
    verdict = await clients.billing.pre_checkout(
        {
            "payload": query.invoice_payload,
            "user_id": learner.user_id,
            "currency": query.currency,
            "total_amount": query.total_amount,
        }
    )
    if verdict.ok:
        return True, ""
    reason = verdict.reason or ""
    log.info("pre-checkout declined", extra={"reason": reason, "user_id": learner.user_id})
    key = f"precheckout-{reason.replace('_', '-')}"
    return False, _(key) if has_message(key) else _("precheckout-declined")


async def successful_payment(message: Message, learner: LearnerCtx | None, clients: ServiceClients) -> None:
    """Telegram took the Stars: billing records the payment (idempotent on the charge id) and buys the
    course or credits the coins; the learner hears the outcome."""
    payment = message.successful_payment
    assert payment is not None
    facts = {
        "payload": payment.invoice_payload,
        "currency": payment.currency,
        "total_amount": payment.total_amount,
        "telegram_payment_charge_id": payment.telegram_payment_charge_id,
        "provider_payment_charge_id": payment.provider_payment_charge_id or "",
    }
    if learner is None:
        # Not possible through our own invoices (pre-checkout needs a learner); kept for an operator.
        user = message.from_user
        log.error("successful payment from someone not registered", extra={**facts, "telegram_id": user and user.id})
        await message.answer(_("stars-unknown-payment"))
        return
    try:
        result = await report_payment(
            clients, {**facts, "user_id": learner.user_id, "telegram_user_id": learner.telegram_id}
        )
    except NotFoundError:
        log.error("successful payment for an invoice billing does not know", extra=facts)  # noqa: TRY400
        await message.answer(_("stars-unknown-payment"))
        return
    except DependencyUnavailableError:
        # Stars were taken and billing cannot be told now: the details are logged for reconciliation,
        # and the update fails so that a webhook redelivery tries again (billing is idempotent on it).
        log.exception("successful payment not recorded yet", extra={**facts, "user_id": learner.user_id})
        await message.answer(_("stars-processing"))
        raise PaymentNotRecordedError(payment.telegram_payment_charge_id) from None
    text, markup = await payment_outcome(clients, result, payment.total_amount)
    await message.answer(text, reply_markup=markup)


class PaymentNotRecordedError(Exception):
    """A successful Stars payment billing could not be told about (yet)."""


async def report_payment(clients: ServiceClients, body: dict[str, Any]) -> StarsPaymentOutcome:
    for delay in (*PAYMENT_REPORT_DELAYS_S, None):
        try:
            result = await clients.billing.record_stars_payment(body)
        except DependencyUnavailableError:
            if delay is None:
                raise
            await asyncio.sleep(delay)
            continue
        return result
    raise AssertionError("unreachable")  # pragma: no cover


async def payment_outcome(
    clients: ServiceClients, result: StarsPaymentOutcome, stars: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The reply to a successful payment, by billing's outcome, with its keyboard (or None)."""
    if result.outcome == "topped_up":
        text = _("stars-topped-up", coins=format_coins(result.coins or 0), balance=format_coins(result.balance or 0))
        return text, keyboards.balance_notification()
    title = escape(await title_of(clients, result.course_id)) if result.course_id else ""
    if result.outcome == "refunded":
        return _("stars-refunded", title=title, stars=stars), None
    # course_purchased: the enrolment notification brings the first lesson.
    return _("stars-course-paid", title=title), None


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="purchases")
    router.callback_query.register(buy_button, BuyCb.filter())
    router.pre_checkout_query.register(pre_checkout)
    router.message.register(successful_payment, F.successful_payment)
    return router
