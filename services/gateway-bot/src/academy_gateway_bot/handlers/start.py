"""/start: a registered learner gets the main menu; anyone else is offered the consent conversation.
/cancel: leave the current conversation step, discarding its answers."""

from __future__ import annotations

import html

from academy_runtime.resources import Resources
from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, ReplyKeyboardRemove

from academy_gateway_bot.context import LearnerCtx
from academy_gateway_bot.handlers.menu import show_main_menu
from academy_gateway_bot.handlers.registration import offer_consent
from academy_gateway_bot.i18n import _
from academy_gateway_bot.learners import mark_reachable
from academy_gateway_bot.settings import GatewaySettings


async def start(message: Message, learner: LearnerCtx | None, state: FSMContext, resources: Resources) -> None:
    user = message.from_user
    if user is None or user.is_bot:
        return
    await state.clear()  # /start begins afresh, whatever step the chat was in
    if learner is not None:
        # Writing to the bot means it can write back: a learner marked blocked (403) is reachable again.
        await mark_reachable(resources, user.id, reachable=True)
        name = html.escape((learner.display_name or user.first_name).split()[0])
        await show_main_menu(message, _("welcome-back", name=name))
        return
    settings = resources.settings_as(GatewaySettings)
    await offer_consent(message, state, settings.consent_version)


async def cancel(message: Message, learner: LearnerCtx | None, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(_("conversation-nothing-to-cancel"))
        return
    await state.clear()
    if learner is None:
        text = _("conversation-cancelled") + "\n" + _("conversation-start-again")
        await message.answer(text, reply_markup=ReplyKeyboardRemove())
        return
    await show_main_menu(message, _("conversation-cancelled"))


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="start")
    router.message.register(start, CommandStart())
    router.message.register(cancel, Command("cancel"))
    return router
