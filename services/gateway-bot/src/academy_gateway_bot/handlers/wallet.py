"""The coins wallet: «💰 Баланс» (coins, the history page by page, the purchase-confirmation setting)
and top-ups (preset or typed roubles through YooKassa, or Telegram Stars where billing allows them).
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import Any

from academy_runtime.client import RejectedCallError, ServiceCallError
from academy_runtime.errors import DependencyUnavailableError
from academy_runtime.resources import Resources
from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from academy_gateway_bot import keyboards
from academy_gateway_bot.callbacks import TopUpCb, WalletCb
from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.context import LearnerCtx
from academy_gateway_bot.handlers.menu import any_menu_button
from academy_gateway_bot.handlers.purchases import send_stars_invoice
from academy_gateway_bot.handlers.registration import TYPED_ANSWER
from academy_gateway_bot.i18n import _, button_filter
from academy_gateway_bot.money import (
    TOP_UP_MAX_RUB,
    TOP_UP_MIN_RUB,
    history_page,
    newer_page,
    remember_stars_top_up,
    stars_top_up_enabled,
    wallet,
)
from academy_gateway_bot.presses import first_press
from academy_gateway_bot.screens import (
    Event,
    answer_callback,
    format_amount,
    format_coins,
    format_date,
    not_registered,
    show,
)
from academy_gateway_bot.states import TopUp

log = logging.getLogger(__name__)

_KNOWN_TYPES = {"topup", "purchase", "refund", "reward", "adjustment"}
# "1 000", "1000 ₽", "1000 руб.", "-5", "12,50": what people type for an amount.
_AMOUNT = re.compile(r"(?P<sign>[-−–+]?)\s*(?P<whole>\d[\d\s\u00a0]*)(?:[.,](?P<fraction>\d+))?")
# Longer than any amount a person means (and than Python's int() accepts: 4 300 digits).
_MAX_AMOUNT_CHARS = 32
_CURRENCY_WORDS = re.compile(r"(₽|руб\w*\.?|р\.?|rub\w*|roubles?|rubles?)$", re.IGNORECASE)


# -- the balance screen ----------------------------------------------------------------------------


async def balance_command(
    message: Message, learner: LearnerCtx | None, clients: ServiceClients, state: FSMContext
) -> None:
    if learner is None:
        await not_registered(message)
        return
    await state.clear()
    await show_wallet(message, learner, clients, edit=False)


async def wallet_button(
    callback: CallbackQuery, callback_data: WalletCb, learner: LearnerCtx | None, clients: ServiceClients
) -> None:
    if learner is None:
        await not_registered(callback)
        return
    edit = not callback_data.fresh
    if callback_data.action in {"confirm_on", "confirm_off"}:
        confirm = callback_data.action == "confirm_on"
        await clients.billing.set_confirm_purchases(learner.user_id, confirm=confirm)
        saved = "wallet-confirm-on-saved" if confirm else "wallet-confirm-off-saved"
        await answer_callback(callback, _(saved))
        await show_wallet(callback, learner, clients, edit=edit)
        return
    if callback_data.action == "older":
        await show_wallet(callback, learner, clients, edit=edit, before_id=callback_data.ref)
    elif callback_data.action == "newer":
        await show_wallet(callback, learner, clients, edit=edit, after_id=callback_data.ref)
    else:
        await show_wallet(callback, learner, clients, edit=edit)
    await answer_callback(callback)


async def show_wallet(
    event: Event,
    learner: LearnerCtx,
    clients: ServiceClients,
    *,
    edit: bool,
    before_id: int | None = None,
    after_id: int | None = None,
) -> None:
    """Coins, one page of the history (the newest, or older than `before_id`, or newer than
    `after_id`), «← Новее / Старее →», «Пополнить» and the confirmation setting."""
    account = await wallet(clients, learner.user_id)
    if after_id:
        page = await newer_page(clients, learner.user_id, after_id)
        has_newer = bool(page["has_newer"])
    else:
        page = await history_page(clients, learner.user_id, before_id)
        has_newer = bool(before_id)
    items: list[dict[str, Any]] = page["items"]
    text = _("wallet-title", coins=format_coins(int(account["coins"])))
    if account.get("is_low") and int(account["coins"]) > 0:
        text += "\n" + _("wallet-low")
    if items:
        text += "\n\n" + _("wallet-history" if not has_newer else "wallet-history-older")
        text += "".join(transaction_line(item) for item in items)
    elif not has_newer:
        text += "\n\n" + _("wallet-empty")
    confirm = bool(account.get("confirm_purchases", True))
    text += "\n\n" + _("wallet-confirm-state", state=_("wallet-on" if confirm else "wallet-off"))
    markup = keyboards.wallet_screen(
        confirm_purchases=confirm,
        newer_ref=int(items[0]["id"]) if has_newer and items else None,
        older_ref=page.get("next_before_id"),
    )
    await show(event, text, markup, edit=edit)


def transaction_line(item: dict[str, Any]) -> str:
    amount = int(item["amount"])
    coins = format_coins(amount)
    kind = item.get("type")
    reason = _(f"wallet-reason-{kind}" if kind in _KNOWN_TYPES else "wallet-reason-other")
    return "\n" + _(
        "wallet-line",
        date=format_date(item["created_at"]),
        amount=f"+{coins}" if amount > 0 else coins.replace("-", "−"),
        reason=reason,
    )


# -- top-ups ---------------------------------------------------------------------------------------


async def top_up_button(  # noqa: PLR0917 - aiogram injects what the handler needs
    callback: CallbackQuery,
    callback_data: TopUpCb,
    learner: LearnerCtx | None,
    clients: ServiceClients,
    bot: Bot,
    state: FSMContext,
    idempotency_key: str,
    resources: Resources,
) -> None:
    if learner is None:
        await not_registered(callback)
        return
    edit = not callback_data.fresh
    if callback_data.action == "menu":
        text = _("topup-title")
        if callback_data.amount:
            text += "\n\n" + _("topup-title-difference", missing=format_coins(callback_data.amount, case="gen"))
        markup = keyboards.top_up_amounts(callback_data.amount, stars=stars_top_up_enabled() is not False)
        await show(callback, text, markup, edit=edit)
        await answer_callback(callback)
    elif callback_data.action == "rub":
        await create_top_up(callback, learner, clients, callback_data.amount, idempotency_key)
    elif callback_data.action == "custom":
        await state.set_state(TopUp.amount)
        await answer_callback(callback)
        await show(
            callback,
            _("topup-ask-amount", min=TOP_UP_MIN_RUB, max=format_amount_rub(TOP_UP_MAX_RUB)),
            edit=False,
        )
    elif callback_data.action == "stars_menu":
        await show(callback, _("topup-stars-title"), keyboards.top_up_stars(), edit=edit)
        await answer_callback(callback)
    else:
        async with first_press(resources, learner.telegram_id, f"stars-top-up:{callback_data.amount}") as first:
            if not first:
                await answer_callback(callback, _("money-invoice-sent"))  # the invoice of the first press
                return
            await stars_top_up(callback, learner, clients, bot, callback_data.amount, idempotency_key)


async def create_top_up(
    event: Event, learner: LearnerCtx, clients: ServiceClients, amount_rub: int, idempotency_key: str
) -> bool:
    """Billing creates a YooKassa payment; the learner gets its confirmation page as a URL button.
    False when billing refused or YooKassa is unreachable (the learner was told)."""
    try:
        payment = await clients.billing.top_up(learner.user_id, amount_rub, idempotency_key=f"{idempotency_key}:top-up")
    except DependencyUnavailableError:
        await refuse(event, _("money-payment-unavailable"))
        return False
    except ServiceCallError as exc:
        if isinstance(exc, RejectedCallError):
            await refuse(event, amount_problem(amount_rub) or _("money-bad-amount"))
        elif exc.code == "no_receipt_contact":
            await refuse(event, _("topup-no-receipt-contact"))
        else:  # a refusal the bot has no words for: the learner still gets an answer, nothing was charged
            log.warning("top-up refused by billing", extra={"code": exc.code, "status": exc.status_code})
            await refuse(event, _("money-payment-unavailable"))
        return False
    if isinstance(event, CallbackQuery):
        await answer_callback(event)
    text = _(
        "topup-pay-text",
        amount=format_amount_rub(amount_rub),
        coins=format_coins(payment.coins or amount_rub),
    )
    markup = keyboards.pay_top_up(amount_rub, payment.confirmation_url)
    await show(event, text, markup, edit=isinstance(event, CallbackQuery))
    return True


async def stars_top_up(  # noqa: PLR0917
    callback: CallbackQuery,
    learner: LearnerCtx,
    clients: ServiceClients,
    bot: Bot,
    stars: int,
    idempotency_key: str,
) -> None:
    locale = learner.locale
    try:
        invoice = await clients.billing.stars_invoice(
            learner.user_id,
            {"purpose": "top_up", "stars": stars},
            locale=locale,
            idempotency_key=f"{idempotency_key}:stars-invoice",
        )
    except ServiceCallError as exc:
        if exc.code == "stars_top_up_disabled":
            remember_stars_top_up(enabled=False)
            await answer_callback(callback, _("money-stars-top-up-disabled"), alert=True)
            return
        if isinstance(exc, RejectedCallError):
            await answer_callback(callback, _("money-bad-amount"), alert=True)
            return
        raise
    await answer_callback(callback, _("money-invoice-sent"))
    await send_stars_invoice(bot, learner.telegram_id, invoice)


async def refuse(event: Event, text: str) -> None:
    if isinstance(event, CallbackQuery):
        await answer_callback(event, text, alert=True)
    else:
        await event.answer(text)


def format_amount_rub(amount: int) -> str:
    return format_amount(Decimal(amount))


def parse_amount(text: str) -> tuple[int | None, str | None]:
    """A typed amount of roubles → (roubles, None), or (None, the catalogue key saying what is wrong)."""
    cleaned = _CURRENCY_WORDS.sub("", text.strip()).strip()
    if len(cleaned) > _MAX_AMOUNT_CHARS:
        return None, "topup-too-large" if cleaned.isdigit() else "topup-not-a-number"
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        return None, "topup-not-a-number"
    whole = int(re.sub(r"\D", "", match["whole"]))
    fraction = match["fraction"]
    if match["sign"] not in ("", "+") and (whole or (fraction and int(fraction))):
        return None, "topup-negative"
    if fraction and int(fraction):
        return None, "topup-not-whole"
    return whole, None


def amount_problem(amount: int) -> str | None:
    limits = {"min": TOP_UP_MIN_RUB, "max": format_amount_rub(TOP_UP_MAX_RUB)}
    if amount == 0:
        return _("topup-zero", **limits)
    if amount < TOP_UP_MIN_RUB:
        return _("topup-too-small", **limits)
    if amount > TOP_UP_MAX_RUB:
        return _("topup-too-large", **limits)
    return None


async def amount_typed(
    message: Message,
    learner: LearnerCtx | None,
    clients: ServiceClients,
    state: FSMContext,
    idempotency_key: str,
) -> None:
    if learner is None:
        await state.clear()
        await not_registered(message)
        return
    amount, problem_key = parse_amount(message.text or "")
    limits = {"min": TOP_UP_MIN_RUB, "max": format_amount_rub(TOP_UP_MAX_RUB)}
    if amount is None:
        await message.answer(_(problem_key or "topup-not-a-number", **limits))
        return
    problem = amount_problem(amount)
    if problem is not None:
        await message.answer(problem)
        return
    if await create_top_up(message, learner, clients, amount, idempotency_key):
        await state.clear()


async def not_an_amount(message: Message) -> None:
    """A sticker, a photo… while an amount is expected."""
    await message.answer(_("topup-not-a-number"))


async def menu_pressed_while_typing(_message: Message, state: FSMContext) -> None:
    """A menu button is not an amount: the top-up is dropped and the button does what it says."""
    await state.clear()
    raise SkipHandler


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="wallet")
    menu_button = any_menu_button()
    router.message.register(menu_pressed_while_typing, StateFilter(TopUp), menu_button)
    router.message.register(balance_command, Command("balance"))
    router.message.register(balance_command, button_filter("menu-balance"))
    router.message.register(amount_typed, TopUp.amount, TYPED_ANSWER, ~menu_button)
    router.message.register(not_an_amount, TopUp.amount, ~F.text)
    router.callback_query.register(wallet_button, WalletCb.filter())
    router.callback_query.register(top_up_button, TopUpCb.filter())
    return router
