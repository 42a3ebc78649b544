"""The learner's rights over their personal data (152-ФЗ): «Мои данные» and «Отозвать согласие / удалить
аккаунт».

- **My data** (`/mydata`, the profile's button): a short summary of what is stored where, and the JSON
  file of all of it (`personal_data.collect_personal_data`, sent with `sendDocument`).
- **Withdraw consent**: what erasure means (profile, avatars, progress, points deleted; payments kept as
  accounting records without the name, as the accounting law requires), a confirmation, then users
  `POST .../erasure` (reason `consent_withdrawn`) and, at once, `forget_erased_learner` for the gateway's
  own rows and Redis keys, so the chat is clean before `users.user_erased.v2` arrives. The confirmation is
  single-use and tied to its question (a reference in the buttons and the chat's FSM data, consumed by
  either answer): a second press finds no learner, a press under a cancelled or older question, or from an
  earlier account, is stale; none of them erases anything.
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import UTC, datetime

from academy_runtime.db import transaction
from academy_runtime.resources import Resources
from aiogram import Bot, F, Router
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message, ReplyKeyboardRemove

from academy_gateway_bot import keyboards
from academy_gateway_bot.callbacks import ErasureCb, ProfileCb
from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.context import LearnerCtx
from academy_gateway_bot.erasure import forget_erased_learner
from academy_gateway_bot.i18n import _
from academy_gateway_bot.personal_data import EXPORT_FILENAME, PersonalDataExport, collect_personal_data
from academy_gateway_bot.screens import answer_callback, format_coins, not_registered
from academy_gateway_bot.settings import GatewaySettings

ERASURE_REASON = "consent_withdrawn"
ERASURE_QUESTION = "erasure_question"
"""FSM data key: the one-time reference of the open «Удалить аккаунт?» question (None once answered)."""

# The services' sections of the export, as the summary names them when one did not answer.
_SECTION_NAMES = {
    "progress": "privacy-section-progress",
    "gamification": "privacy-section-gamification",
    "billing": "privacy-section-billing",
}


# -- my data ---------------------------------------------------------------------------------------


async def my_data_command(
    message: Message, learner: LearnerCtx | None, clients: ServiceClients, resources: Resources, bot: Bot
) -> None:
    """/mydata: the summary and the file."""
    if learner is None:
        await not_registered(message)
        return
    await send_my_data(bot, learner, clients, resources)


async def my_data_pressed(
    callback: CallbackQuery, learner: LearnerCtx | None, clients: ServiceClients, resources: Resources, bot: Bot
) -> None:
    """«📄 Мои данные» under the profile card: the summary and the file."""
    if learner is None:
        await not_registered(callback)
        return
    await answer_callback(callback)
    await send_my_data(bot, learner, clients, resources)


async def send_my_data(bot: Bot, learner: LearnerCtx, clients: ServiceClients, resources: Resources) -> None:
    """The summary (what is stored, where, a few counts), then the file with everything."""
    chat_id = learner.telegram_id
    await bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    export = await collect_personal_data(resources.sessionmaker, clients, learner)
    await bot.send_message(chat_id, _summary(export))
    document = BufferedInputFile(export.as_json(), filename=EXPORT_FILENAME)
    await bot.send_document(chat_id, document, caption=_("privacy-file-caption"))


def _summary(export: PersonalDataExport) -> str:
    balance = export.value("billing", "wallet", "coins")
    points = export.value("gamification", "points", "total_points")
    text = _(
        "privacy-summary",
        avatars=export.count("users", "avatars"),
        courses=export.count("progress", "enrolments"),
        points=int(points) if isinstance(points, int) else 0,
        achievements=sum(1 for item in export.value("gamification", "achievements") or () if item.get("unlocked")),
        coins=format_coins(int(balance)) if isinstance(balance, int) else format_coins(0),
        payments=export.count("billing", "payments"),
        notifications=export.count("gateway_bot", "notifications"),
    )
    if export.unavailable:
        names = ", ".join(_(_SECTION_NAMES[name]) for name in export.unavailable)
        text += "\n\n" + _("privacy-partial", sections=names)
    return text


# -- withdrawing consent ---------------------------------------------------------------------------


async def erase_pressed(callback: CallbackQuery, learner: LearnerCtx | None, state: FSMContext) -> None:
    """«Отозвать согласие / удалить аккаунт»: what it means, and the confirmation. The question gets a
    one-time reference (FSM data `ERASURE_QUESTION`, carried by both buttons); asking again replaces it, so
    only the latest question's buttons act."""
    if learner is None or not isinstance(callback.message, Message):
        await not_registered(callback)
        return
    await answer_callback(callback)
    question = secrets.token_urlsafe(6)
    await state.update_data({ERASURE_QUESTION: question})
    user_id = learner.user_id
    confirm = keyboards.markup(
        [
            [
                keyboards.button(
                    _("privacy-erase-confirm"), ErasureCb(action="confirm", user_id=user_id, question=question)
                )
            ],
            [
                keyboards.button(
                    _("privacy-erase-cancel"), ErasureCb(action="cancel", user_id=user_id, question=question)
                )
            ],
        ]
    )
    await callback.message.answer(_("privacy-erase-explained"), reply_markup=confirm)


async def erasure_answered(  # noqa: PLR0917 - aiogram injects what the handler needs
    callback: CallbackQuery,
    callback_data: ErasureCb,
    learner: LearnerCtx | None,
    state: FSMContext,
    clients: ServiceClients,
    resources: Resources,
    bot: Bot,
) -> None:
    """Erase (once: a second press finds no learner) or keep everything. Only the open question's buttons
    act: «Нет» consumes its reference, the erasure deletes it with the conversation; a press under a
    question answered, cancelled or asked again since is answered «устарел» and erases nothing."""
    question = callback.message if isinstance(callback.message, Message) else None
    if learner is None:  # erased already (the first press), or never registered
        await answer_callback(callback, _("privacy-erase-already"), alert=True)
        await _drop_buttons(question)
        return
    if learner.user_id != callback_data.user_id:  # a button left from an earlier account
        await answer_callback(callback, _("fallback-stale-button"), alert=True)
        await _drop_buttons(question)
        return
    if not callback_data.question or (await state.get_data()).get(ERASURE_QUESTION) != callback_data.question:
        await answer_callback(callback, _("privacy-erase-stale"), alert=True)
        await _drop_buttons(question)
        return
    if callback_data.action == "cancel":
        await state.update_data({ERASURE_QUESTION: None})
        await answer_callback(callback)
        if question is not None:
            await question.edit_text(_("privacy-erase-cancelled"))
        return
    # The key names the learner, not the press: both presses of a double tap are one erasure in users.
    erasure = await clients.users.erase(
        learner.user_id, reason=ERASURE_REASON, idempotency_key=f"erasure:{learner.user_id}"
    )
    erased_at = erasure.erased_at if erasure is not None else datetime.now(UTC)
    settings = resources.settings_as(GatewaySettings)
    async with transaction(resources.sessionmaker) as session:
        await forget_erased_learner(
            session,
            resources.redis,
            settings.redis_prefix,
            learner.user_id,
            erased_at=erased_at,
            telegram_id=learner.telegram_id,
        )
    await answer_callback(callback)
    if question is not None:
        with contextlib.suppress(TelegramBadRequest):
            await question.edit_text(_("privacy-erase-done-short"))
    await bot.send_message(learner.telegram_id, _("privacy-erase-done"), reply_markup=ReplyKeyboardRemove())


async def _drop_buttons(message: Message | None) -> None:
    if message is None:
        return
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_reply_markup(reply_markup=None)


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="privacy")
    router.message.register(my_data_command, Command("mydata"))
    router.callback_query.register(my_data_pressed, ProfileCb.filter(F.action == "data"))
    router.callback_query.register(erase_pressed, ProfileCb.filter(F.action == "erase"))
    router.callback_query.register(erasure_answered, ErasureCb.filter())
    return router
