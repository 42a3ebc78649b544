"""Shared pieces of the learning screens: showing a screen (new message or edit in place) and formatting."""

from __future__ import annotations

import contextlib
import html
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup, Message
from babel.numbers import format_decimal

from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.i18n import _, current_locale, locale_for

BAR_CELLS = 10
_CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "XTR": "⭐"}

Event = Message | CallbackQuery


def event_locale(event: Event) -> str:
    user = event.from_user
    return locale_for(user.language_code if user else None)


async def show(
    event: Event, text: str, markup: InlineKeyboardMarkup | None = None, *, edit: bool = True
) -> Message | None:
    """Answer a command with a new message; for a button, edit the message it is under (unless `edit`
    is false: then the screen comes as a new message and the old one stays, e.g. a notification)."""
    if isinstance(event, Message):
        return await event.answer(text, reply_markup=markup, disable_web_page_preview=True)
    message = event.message
    if message is None or isinstance(message, InaccessibleMessage):
        return await event.bot.send_message(event.from_user.id, text, reply_markup=markup) if event.bot else None
    if edit and message.text is not None:
        try:
            edited = await message.edit_text(text, reply_markup=markup, disable_web_page_preview=True)
        except TelegramBadRequest as exc:
            # Pressing the button of the screen already shown changes nothing: that is fine.
            if "message is not modified" not in str(exc):
                raise
            return message
        return edited if isinstance(edited, Message) else message
    return await message.answer(text, reply_markup=markup, disable_web_page_preview=True)


async def answer_callback(callback: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Stop the button's spinner; a second answer (the query already answered) is harmless."""
    with contextlib.suppress(TelegramBadRequest):
        await callback.answer(text, show_alert=alert)


async def not_registered(event: Event) -> None:
    text = _("profile-not-registered")
    if isinstance(event, CallbackQuery):
        await answer_callback(event, text, alert=True)
    else:
        await event.answer(text)


def progress_bar(percent: int) -> str:
    """`▰▰▰▱▱▱▱▱▱▱ 30%`: ten cells, a cell filled per whole tenth."""
    percent = max(0, min(100, int(percent)))
    filled = percent * BAR_CELLS // 100
    return f"{'▰' * filled}{'▱' * (BAR_CELLS - filled)} {percent}%"


def format_amount(amount: Decimal) -> str:
    """An amount in the current language's notation (CLDR through Babel, as Fluent formats numbers):
    «4 900», «1 234,50» in Russian (a no-break space groups digits), «4,900», «1,234.50» in English;
    kopecks/cents only when there are any."""
    whole = amount == amount.to_integral_value()
    return format_decimal(amount, format="#,##0" if whole else "#,##0.00", locale=current_locale())


def is_free(course: dict[str, Any]) -> bool:
    try:
        return Decimal(str(course.get("price") or 0)) <= 0
    except InvalidOperation:
        return False


def format_price(course: dict[str, Any]) -> str:
    """ "Бесплатно" / "4 900 ₽" / "250 ⭐"."""
    if is_free(course):
        return _("price-free")
    amount = Decimal(str(course["price"]))
    currency = str(course.get("currency") or "RUB")
    sign = _CURRENCY_SIGNS.get(currency, currency)
    return f"{format_amount(amount)} {sign}"


def format_coins(coins: int, *, case: str = "nom") -> str:
    """ "1 монета", "3 монеты", "1 500 монет" in the current language, the word in CLDR's plural form
    (Fluent messages `coins-nom`, `coins-acc` for «купить за 21 монету», `coins-gen` for «не хватает
    1 монеты»); "1 coin", "1,500 coins" in English. Negative amounts keep their sign."""
    sign = "-" if coins < 0 else ""
    return _(f"coins-{case}", count=abs(coins), amount=sign + format_amount(Decimal(abs(coins))))


def format_money(amount: object, currency: str) -> str:
    """ "4 900 ₽", "12,50 $", "250 ⭐" from a decimal string (or number) and its currency."""
    return f"{format_amount(Decimal(str(amount)))} {_CURRENCY_SIGNS.get(currency, currency)}"


def format_date(value: str | datetime | None) -> str:
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%d.%m.%Y")


def escape(value: object) -> str:
    return html.escape(str(value), quote=False)


def course_title(course: dict[str, Any]) -> str:
    """The course's title, or "Course #7" while progress has not heard of it from the catalog yet."""
    title = course.get("title")
    course_id = course.get("course_id", course.get("id"))
    return str(title) if title else _("course-untitled", id=str(course_id))


def short(text: str, limit: int = 40) -> str:
    """Button labels stay readable on a phone."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def category_titles(clients: ServiceClients) -> dict[str, str]:
    """Category slug → its title in the learner's language, in the catalog's order."""
    locale = current_locale()
    categories = await clients.catalog.get("/internal/categories")
    ordered = sorted(categories, key=lambda c: (c.get("sort_order", 0), c["slug"]))
    return {c["slug"]: str(c.get(f"title_{locale}") or c.get("title_ru") or c["slug"]) for c in ordered}
