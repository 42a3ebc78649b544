"""Shared pieces of the screens: showing a screen (new message or edit in place), answering a button press
exactly once, and formatting."""

from __future__ import annotations

import contextlib
import html
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup, Message, TelegramObject
from babel.dates import format_date as babel_format_date
from babel.numbers import format_decimal

from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.i18n import _, current_locale, locale_for

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod
    from aiogram.methods.base import TelegramType

log = logging.getLogger(__name__)

BAR_CELLS = 10
_CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "XTR": "⭐"}
# Dates as each language writes them: «05.03.2025»; «5 Mar 2025» (never the ambiguous 03/05/2025).
_DATE_PATTERNS = {"ru": "dd.MM.yyyy", "en": "d MMM yyyy"}

Event = Message | CallbackQuery
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

# Telegram's refusals to edit a message (the description of a 400 Bad Request), lower-cased.
_NOT_MODIFIED = "message is not modified"
_CANNOT_EDIT = (
    "message to edit not found",  # deleted
    "message can't be edited",  # too old, or not the bot's
    "message_id_invalid",
    "there is no text in the message to edit",
)


def is_not_modified(error: TelegramBadRequest) -> bool:
    """The edit asked for what the message already shows (a button pressed again): nothing to do."""
    return _NOT_MODIFIED in error.message.lower()


def cannot_edit(error: TelegramBadRequest) -> bool:
    """The message is gone or can no longer be edited: the screen has to come as a new message."""
    description = error.message.lower()
    return any(refusal in description for refusal in _CANNOT_EDIT)


def event_locale(event: Event) -> str:
    user = event.from_user
    return locale_for(user.language_code if user else None)


async def show(
    event: Event, text: str, markup: InlineKeyboardMarkup | None = None, *, edit: bool = True
) -> Message | None:
    """Answer a command with a new message; for a button, edit the message it is under (unless `edit`
    is false: then the screen comes as a new message and the old one stays, e.g. a notification).

    A button pressed again asks for the screen already shown: Telegram refuses the edit as "not modified",
    and that is the screen the learner wanted. A message deleted, too old to edit or not a text comes anew.
    """
    if isinstance(event, Message):
        return await event.answer(text, reply_markup=markup, disable_web_page_preview=True)
    message = event.message
    if message is None or isinstance(message, InaccessibleMessage):
        if event.bot is None:
            return None
        return await event.bot.send_message(
            event.from_user.id, text, reply_markup=markup, disable_web_page_preview=True
        )
    if edit and message.text is not None:
        try:
            edited = await message.edit_text(text, reply_markup=markup, disable_web_page_preview=True)
        except TelegramBadRequest as exc:
            if is_not_modified(exc):
                return message
            if not cannot_edit(exc):
                raise
            log.info("screen sent anew: its message cannot be edited", extra={"error": exc.message})
        else:
            return edited if isinstance(edited, Message) else message
    return await message.answer(text, reply_markup=markup, disable_web_page_preview=True)


async def answer_callback(callback: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Stop the button's spinner (with a toast, or an alert); answering twice is harmless: the second
    answer is refused by Telegram, and `AnswerEveryCallback` does not answer after this one."""
    with contextlib.suppress(TelegramBadRequest):
        await callback.answer(text, show_alert=alert)
        note_answered(callback.id)


# -- one answer per button press -------------------------------------------------------------------


@dataclass
class _PendingAnswer:
    query_id: str
    answered: bool = False
    failure_told: bool = False


_PENDING_ANSWER: ContextVar[_PendingAnswer | None] = ContextVar("pending_callback_answer", default=None)


def note_answered(query_id: str) -> None:
    """The callback query being handled has been answered (an answer made outside `answer_callback` is
    noted by `NoteCallbackAnswers`)."""
    pending = _PENDING_ANSWER.get()
    if pending is not None and pending.query_id == query_id:
        pending.answered = True


def callback_answered(query_id: str) -> bool:
    """Whether the callback query being handled has been answered already (by its handler or a middleware):
    Telegram refuses a second answer ("query is too old"), so what is left to say goes as a message."""
    pending = _PENDING_ANSWER.get()
    return pending is not None and pending.query_id == query_id and pending.answered


async def tell_failure(callback: CallbackQuery, text: str) -> None:
    """Tell the learner that their press failed, once per press however many layers report it: as the
    query's answer (an alert) while it is unanswered, as a message in the chat once it has been answered
    (the handler answered first and failed after, e.g. an upload after «Да»)."""
    pending = _PENDING_ANSWER.get()
    if pending is not None and pending.query_id == callback.id:
        if pending.failure_told:
            return
        pending.failure_told = True
    if not callback_answered(callback.id):
        try:
            await callback.answer(text, show_alert=True)
        except TelegramBadRequest:  # too old, or answered where nobody noted it: said in the chat instead
            pass
        else:
            note_answered(callback.id)
            return
    message = callback.message
    chat_id = message.chat.id if message is not None else callback.from_user.id
    if callback.bot is None:
        return
    try:
        await callback.bot.send_message(chat_id, text)
    except TelegramAPIError as exc:  # blocked, or Telegram down: nothing more can be said
        log.info("failure not told", extra={"error": exc.message})


class AnswerEveryCallback(BaseMiddleware):
    """Every callback query is answered exactly once, whatever its handler did: Telegram's client spins the
    button until the bot answers, and a second answer is refused.

    After the handler, a query nobody answered is answered: silently when the handler finished, with «try
    again» when it failed (`tell_failure`: a message in the chat when the handler had answered before it
    failed, and nothing more when an inner layer told it already), with «this button is out of date» when no
    handler takes its data (a button of an older layout, or data its factory refuses). "Message is not
    modified" escaping a handler means the screen already shows what the press asked for (the same button
    pressed twice): not an error.

    An outer middleware of `dispatcher.callback_query`, registered before the others, so a press they stop
    (throttling) is answered too. It knows of answers made through `answer_callback`; `NoteCallbackAnswers`
    on the bot's session tells it of the others (`callback.answer()` in a handler).
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, CallbackQuery):
            return await handler(event, data)
        pending = _PendingAnswer(event.id)
        token = _PENDING_ANSWER.set(pending)
        text: str | None = None
        failed = False
        try:
            result = await handler(event, data)
        except TelegramBadRequest as exc:
            if not is_not_modified(exc):
                failed = True
                raise
            log.debug("a press asked for the screen already shown", extra={"data": event.data})
            return None
        except Exception:
            failed = True
            raise
        else:
            if result is UNHANDLED:
                text = _("navigation-button-outdated")
            return result
        finally:
            if failed:
                await tell_failure(event, _("navigation-failed"))
            _PENDING_ANSWER.reset(token)
            if not pending.answered and not failed:
                await self._answer(event, text)

    @staticmethod
    async def _answer(event: CallbackQuery, text: str | None) -> None:
        try:
            await event.answer(text)
        except TelegramAPIError as exc:  # expired, or answered in a way nobody noted: the spinner is gone
            log.info("callback query not answered", extra={"error": exc.message})


class NoteCallbackAnswers(BaseRequestMiddleware):
    """Notes every `answerCallbackQuery` the bot makes while a query is handled, however the handler made it,
    so `AnswerEveryCallback` does not answer a second time. A request middleware of the bot's session."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        result = await make_request(bot, method)
        if isinstance(method, AnswerCallbackQuery):
            note_answered(method.callback_query_id)
        return result


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
    """ "05.03.2025" in Russian, "5 Mar 2025" in English (CLDR month names through Babel)."""
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    locale = current_locale()
    return babel_format_date(moment.date(), _DATE_PATTERNS.get(locale, "medium"), locale=locale)


def format_moment(moment: datetime) -> str:
    """A moment in UTC as the current language writes it: «30.11.2026 07:08 UTC», «30 Nov 2026, 07:08 UTC»."""
    return (
        f"{format_date(moment)}, {moment.astimezone(UTC):%H:%M} UTC"
        if current_locale() != "ru"
        else (f"{format_date(moment)} {moment.astimezone(UTC):%H:%M} UTC")
    )


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
