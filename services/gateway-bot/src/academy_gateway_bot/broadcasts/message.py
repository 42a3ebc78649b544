"""A broadcast as one learner receives it: the text (or photo with caption) in their language, the
operator's URL button and the learner's «🔕 Не присылать объявления» under it."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from aiogram.enums import ParseMode
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from academy_gateway_bot.callbacks import AnnouncementsCb
from academy_gateway_bot.i18n import _, use_locale
from academy_gateway_bot.models import Broadcast
from academy_gateway_bot.notifications.sender import MAX_ATTEMPTS, NotificationSender


@dataclass(frozen=True)
class Content:
    """What a broadcast says (a snapshot of its row, read once per batch)."""

    text_ru: str
    text_en: str | None
    photo: str | None
    button_url: str | None
    button_text_ru: str | None
    button_text_en: str | None

    @classmethod
    def of(cls, broadcast: Broadcast) -> Content:
        return cls(
            text_ru=broadcast.text_ru,
            text_en=broadcast.text_en,
            photo=broadcast.photo,
            button_url=broadcast.button_url,
            button_text_ru=broadcast.button_text_ru,
            button_text_en=broadcast.button_text_en,
        )

    def variants(self) -> list[str]:
        """The locales the operator wrote for (ru always)."""
        return ["ru", "en"] if self.text_en else ["ru"]


def render(content: Content, locale: str) -> tuple[str, InlineKeyboardMarkup]:
    """The text for `locale` (English readers get `text_en`, or `text_ru` when there is none) and the keyboard."""
    english = locale == "en"
    text = content.text_en if english and content.text_en else content.text_ru
    rows: list[list[InlineKeyboardButton]] = []
    if content.button_url:
        label = content.button_text_en if english and content.button_text_en else content.button_text_ru
        rows.append([InlineKeyboardButton(text=label or content.button_url, url=content.button_url)])
    with use_locale("en" if english else "ru"):
        opt_out = _("announcements-off-button")
    rows.append([InlineKeyboardButton(text=opt_out, callback_data=AnnouncementsCb(action="off").pack())])
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


@dataclass
class Attempt:
    """Whether a send reached the Bot API call (`started`): before it, a stopped send changed nothing and its
    recipient can go back to `pending`; after it, the outcome is unknown."""

    started: bool = False


async def send(
    sender: NotificationSender,
    chat_id: int,
    content: Content,
    locale: str,
    *,
    attempts: int = MAX_ATTEMPTS,
    attempt: Attempt | None = None,
) -> Message:
    """Deliver the broadcast to `chat_id` through the one sender (Telegram's limits, retry_after).
    `attempts`: the 429s waited out in the sender (1: the first is raised to the caller).
    `attempt.started` turns True just before the Bot API call.
    Raises what the sender raises: LearnerUnreachableError (403), aiogram's TelegramAPIError and network errors."""
    text, markup = render(content, locale)
    options: dict[str, Any] = {"parse_mode": ParseMode.HTML, "reply_markup": markup}

    def call() -> Awaitable[Message]:
        if attempt is not None:
            attempt.started = True
        if content.photo:
            return sender.bot.send_photo(chat_id, content.photo, caption=text, **options)
        return sender.bot.send_message(chat_id, text, disable_web_page_preview=True, **options)

    return await sender.deliver(chat_id, call, attempts=attempts)
