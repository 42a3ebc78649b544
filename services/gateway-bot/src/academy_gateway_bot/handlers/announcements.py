"""The learner's opt-out of operators' announcements (broadcasts, issue 12): «🔕 Не присылать объявления»
under every announcement turns them off in the gateway's `learners` projection (the broadcasts skip the
learner from then on), and the answer carries «🔔 Снова присылать объявления» to turn them back on.
Notifications of the learner's own facts (courses, points, payments) do not depend on it."""

from __future__ import annotations

from academy_runtime.db import transaction
from academy_runtime.resources import Resources
from aiogram import Router
from aiogram.types import CallbackQuery
from sqlalchemy import update

from academy_gateway_bot import keyboards
from academy_gateway_bot.callbacks import AnnouncementsCb
from academy_gateway_bot.i18n import _
from academy_gateway_bot.models import Learner
from academy_gateway_bot.screens import answer_callback, show


async def announcements_pressed(callback: CallbackQuery, callback_data: AnnouncementsCb, resources: Resources) -> None:
    """Turn announcements off (`off`) or on (`on`) for the chat's learner — by the Telegram account that
    pressed, whatever the conversation's state; a chat the gateway does not know changes nothing."""
    enabled = callback_data.action == "on"
    async with transaction(resources.sessionmaker) as session:
        await session.execute(
            update(Learner).where(Learner.telegram_id == callback.from_user.id).values(announcements_enabled=enabled)
        )
    await answer_callback(callback)
    if enabled:
        await show(callback, _("announcements-on"), None, edit=False)
    else:
        again = keyboards.markup([[keyboards.button(_("announcements-on-button"), AnnouncementsCb(action="on"))]])
        await show(callback, _("announcements-off"), again, edit=False)


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="announcements")
    router.callback_query.register(announcements_pressed, AnnouncementsCb.filter())
    return router
