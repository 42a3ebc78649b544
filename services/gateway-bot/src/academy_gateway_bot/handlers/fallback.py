"""The last router: every update no other handler took gets an answer, never silence.

What the learner sent decides the answer: an unknown command points to /help; a voice message, a video,
a sticker or a file says what the bot can read (a photo or an image file is offered as the avatar by
`handlers/avatars.py` first: only one sent in the middle of a step comes here); other text points to the
menu. In the middle
of a conversation step (registration, editing the profile, typing an amount) the answer repeats what
that step is waiting for and how to leave it. A button of a screen the bot no longer knows (an old
version, a removed course) is answered, so the client does not spin.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove

from academy_gateway_bot.context import LearnerCtx
from academy_gateway_bot.handlers.menu import main_menu
from academy_gateway_bot.i18n import _
from academy_gateway_bot.states import AvatarUpload, ProfileEditing, Registration, TopUp

# What each conversation step waits for (a message id of fallback.ftl).
_STEP_WAITS_FOR = {
    Registration.consent.state: "fallback-step-consent",
    Registration.full_name.state: "fallback-step-name",
    Registration.phone.state: "fallback-step-phone",
    Registration.city.state: "fallback-step-city",
    ProfileEditing.full_name.state: "fallback-step-name",
    ProfileEditing.city.state: "fallback-step-city",
    TopUp.amount.state: "fallback-step-amount",
    AvatarUpload.photo.state: "fallback-step-photo",
}


def _what_it_is(message: Message) -> str:
    """The message id naming what the learner sent that the bot cannot take."""
    if message.text is not None:
        return "fallback-unknown-command" if message.text.startswith("/") else "fallback-unknown-text"
    kinds = (
        (message.voice or message.video_note or message.audio, "fallback-voice"),
        (message.photo, "fallback-photo"),
        (message.video or message.animation, "fallback-video"),
        (message.sticker, "fallback-sticker"),
        (message.document, "fallback-document"),
    )
    return next((key for content, key in kinds if content), "fallback-other")


async def anything_else(message: Message, learner: LearnerCtx | None, state: FSMContext) -> None:
    step = await state.get_state()
    what = _what_it_is(message)
    if step in _STEP_WAITS_FOR:
        await message.answer(_(what) + "\n\n" + _(_STEP_WAITS_FOR[step]) + "\n" + _("fallback-step-cancel"))
        return
    if learner is None:
        await message.answer(_(what) + "\n\n" + _("fallback-not-registered"), reply_markup=ReplyKeyboardRemove())
        return
    await message.answer(_(what) + "\n\n" + _("fallback-use-menu"), reply_markup=main_menu())


async def unknown_button(callback: CallbackQuery) -> None:
    await callback.answer(_("fallback-stale-button"), show_alert=True)


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="fallback")
    router.message.register(anything_else, F.chat.type == ChatType.PRIVATE)  # a group is not talking to us
    router.callback_query.register(unknown_button)
    return router
