"""The bot's language: Telegram's language at first, the learner's choice once they make one."""

from __future__ import annotations

from typing import Literal

from academy_runtime.resources import Resources
from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram_i18n import I18nContext

from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.context import LearnerCtx
from academy_gateway_bot.handlers.menu import show_main_menu
from academy_gateway_bot.i18n import _, button_filter
from academy_gateway_bot.learners import learner_changed

# Each language named in itself, so a learner finds theirs whatever the bot speaks now.
LANGUAGE_NAMES = {"ru": "🇷🇺 Русский", "en": "🇬🇧 English"}


class ChooseLanguage(CallbackData, prefix="lang"):
    locale: Literal["ru", "en"]


async def language_menu(message: Message, learner: LearnerCtx | None, state: FSMContext) -> None:
    if learner is None:
        await message.answer(_("profile-not-registered"))
        return
    await state.clear()
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=name, callback_data=ChooseLanguage(locale=code).pack())
                for code, name in LANGUAGE_NAMES.items()
            ]
        ]
    )
    await message.answer(_("language-choose"), reply_markup=keyboard)


async def language_chosen(  # noqa: PLR0917 - aiogram injects what the handler needs
    callback: CallbackQuery,
    callback_data: ChooseLanguage,
    learner: LearnerCtx | None,
    clients: ServiceClients,
    resources: Resources,
    idempotency_key: str,
    i18n: I18nContext,
) -> None:
    if learner is None or not isinstance(callback.message, Message):
        await callback.answer(_("profile-not-registered"), show_alert=True)
        return
    if callback_data.locale != learner.locale:
        account = await clients.users.change(
            learner.user_id, {"locale": callback_data.locale}, idempotency_key=f"{idempotency_key}:locale"
        )
        learner = await learner_changed(resources, account)
        await i18n.set_locale(learner.locale)  # this very answer is already in the new language
    await callback.answer()
    await callback.message.edit_text(_("language-changed"))
    await show_main_menu(callback.message)


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="language")
    router.message.register(language_menu, Command("language"))
    router.message.register(language_menu, button_filter("menu-language"))
    router.callback_query.register(language_chosen, ChooseLanguage.filter())
    return router
