"""The main menu: a reply keyboard of the bot's sections, shown after registration, on /start and /menu.

The handlers behind the buttons live with their features; they match a button in any language with
`i18n.button_filter(key)`.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup
from aiogram.utils.magic_filter import MagicFilter

from academy_gateway_bot.context import LearnerCtx
from academy_gateway_bot.handlers import announcements
from academy_gateway_bot.i18n import _, in_every_locale

MENU_LAYOUT = (
    ("menu-catalog", "menu-my-courses"),
    ("menu-achievements", "menu-communities"),
    ("menu-balance", "menu-profile"),
    ("menu-language",),
)


def any_menu_button() -> MagicFilter:
    """Any main-menu button, in any language."""
    return F.text.in_({text for row in MENU_LAYOUT for key in row for text in in_every_locale(key)})


def main_menu() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_(key)) for key in row] for row in MENU_LAYOUT],
        resize_keyboard=True,
        is_persistent=True,
    )


async def show_main_menu(message: Message, text: str | None = None) -> None:
    await message.answer(text or _("menu-title"), reply_markup=main_menu())


async def menu_command(message: Message, learner: LearnerCtx | None, state: FSMContext) -> None:
    if learner is None:
        await message.answer(_("profile-not-registered"))
        return
    await state.clear()  # /menu leaves whatever step the learner was in
    await show_main_menu(message)


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="menu")
    router.message.register(menu_command, Command("menu"))
    # The buttons under operators' announcements (they belong to no screen of their own).
    router.include_router(announcements.make_router())
    return router
