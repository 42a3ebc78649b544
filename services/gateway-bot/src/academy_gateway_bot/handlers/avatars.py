"""Avatars: a photo sent from the profile («Сменить фото») becomes the avatar at once; a photo sent at any
other time is offered («Сделать это фото аватаром?» Да / Нет); «Мои фото» shows the history as an album,
with buttons to go back to an earlier photo, to delete the current one and to page to older photos (10 an
album: Telegram's media group limit); photos whose images are gone from storage are named, not hidden.

The photo waiting for an answer is kept in the FSM data (`avatar_offers`: the offer's message id → the
photo and the idempotency key of the message that brought it), so both presses of a doubled «Да» upload
with one key and the second finds the offer answered. Downloading, uploading and sending images is
`academy_gateway_bot.avatars`; users decides what an acceptable image is.
"""

from __future__ import annotations

import contextlib
from typing import Any

from academy_runtime.errors import NotFoundError
from academy_runtime.resources import Resources
from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.enums import ChatAction, ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from academy_gateway_bot import keyboards
from academy_gateway_bot.avatars import (
    ALBUM_LIMIT,
    AvatarImages,
    AvatarRefusedError,
    IncomingImage,
    current_avatar,
    set_avatar,
)
from academy_gateway_bot.callbacks import AvatarCb, ProfileCb
from academy_gateway_bot.clients import Avatar, ServiceClients
from academy_gateway_bot.context import LearnerCtx
from academy_gateway_bot.handlers.menu import any_menu_button
from academy_gateway_bot.handlers.profile import send_profile_card
from academy_gateway_bot.i18n import _
from academy_gateway_bot.screens import answer_callback, format_date, not_registered
from academy_gateway_bot.settings import GatewaySettings
from academy_gateway_bot.states import AvatarUpload

OFFERS = "avatar_offers"
"""FSM data key: the pending offers, by the message id of «Сделать это фото аватаром?»."""
_OFFERS_KEPT = 5  # a learner who sends photos and answers none keeps only the latest offers
_REFUSAL_TEXTS = {
    "too_big": "avatar-refused-too-big",
    "not_an_image": "avatar-refused-not-an-image",
    "unsupported_type": "avatar-refused-unsupported-type",
    "type_mismatch": "avatar-refused-type-mismatch",
    "too_many_pixels": "avatar-refused-too-many-pixels",
}
# What a second press of an answered offer says, by how the first one went.
_ANSWERED_TEXTS = {
    "accepted": "avatar-offer-accepted",
    "declined": "avatar-offer-declined",
    "refused": "avatar-offer-refused",
}
_RESTORE_BUTTONS_PER_ROW = 2


def images(bot: Bot, clients: ServiceClients, resources: Resources) -> AvatarImages:
    """The avatar image sender of this bot, on the gateway's Redis (for Telegram file ids)."""
    return AvatarImages(bot, resources.redis, resources.settings_as(GatewaySettings).redis_prefix, clients)


# -- setting an avatar -----------------------------------------------------------------------------


async def change_photo_pressed(callback: CallbackQuery, learner: LearnerCtx | None, state: FSMContext) -> None:
    """«Сменить фото»: the next photo the learner sends becomes the avatar."""
    if learner is None or not isinstance(callback.message, Message):
        await not_registered(callback)
        return
    await answer_callback(callback)
    await state.set_state(AvatarUpload.photo)
    await callback.message.answer(_("avatar-send-photo"))


async def photo_for_avatar(  # noqa: PLR0917 - aiogram injects what the handler needs
    message: Message,
    learner: LearnerCtx | None,
    state: FSMContext,
    clients: ServiceClients,
    resources: Resources,
    bot: Bot,
    idempotency_key: str,
) -> None:
    """A photo (or image file) after «Сменить фото»: it becomes the avatar now."""
    if learner is None:
        await state.clear()
        await message.answer(_("avatar-not-registered"))
        return
    image = IncomingImage.from_message(message)
    if image is None:  # a file that is no image: the chat keeps waiting for one
        await message.answer(_("avatar-refused-not-an-image") + "\n" + _("avatar-send-photo-again"))
        return
    limit = resources.settings_as(GatewaySettings).avatar_max_bytes
    if (
        await _upload(message, bot, clients, learner, image, idempotency_key=f"{idempotency_key}:avatar", limit=limit)
        is None
    ):
        return
    await state.clear()
    await message.answer(_("avatar-set"))
    await send_profile_card(message, learner, clients, resources)


async def photo_sent_anytime(
    message: Message, learner: LearnerCtx | None, state: FSMContext, idempotency_key: str
) -> None:
    """A photo (or image file) with no conversation going on: offered as the avatar, with Yes / No."""
    image = IncomingImage.from_message(message)
    if image is None:
        raise SkipHandler  # not an image: the fallback says what the bot reads
    if learner is None:
        await message.answer(_("avatar-not-registered"))
        return
    offer = await message.reply(_("avatar-confirm"), reply_markup=_offer_keyboard())
    offers: dict[str, Any] = dict((await state.get_data()).get(OFFERS) or {})
    offers[str(offer.message_id)] = {"image": image.as_data(), "key": f"{idempotency_key}:avatar"}
    latest = sorted(offers, key=int)[-_OFFERS_KEPT:]
    await state.update_data({OFFERS: {mid: offers[mid] for mid in latest}})


def _offer_keyboard() -> InlineKeyboardMarkup:
    return keyboards.markup(
        [
            [
                keyboards.button(_("avatar-confirm-yes"), AvatarCb(action="confirm")),
                keyboards.button(_("avatar-confirm-no"), AvatarCb(action="decline")),
            ]
        ]
    )


async def offer_answered(  # noqa: PLR0917 - aiogram injects what the handler needs
    callback: CallbackQuery,
    callback_data: AvatarCb,
    learner: LearnerCtx | None,
    state: FSMContext,
    clients: ServiceClients,
    resources: Resources,
    bot: Bot,
) -> None:
    """Yes: the offered photo becomes the avatar (once, however often Yes is pressed); No: it does not."""
    if learner is None or not isinstance(callback.message, Message):
        await not_registered(callback)
        return
    offer_message = callback.message
    offers: dict[str, Any] = dict((await state.get_data()).get(OFFERS) or {})
    offer = offers.get(str(offer_message.message_id))
    if offer is None:
        await answer_callback(callback, _("avatar-offer-expired"), alert=True)
        await _settle(offer_message, _("avatar-offer-expired"))
        return
    if offer.get("answered"):  # the second press of a doubled Yes (or No): already done
        await answer_callback(callback, _(_ANSWERED_TEXTS[offer["answered"]]))
        return
    if callback_data.action == "decline":
        await _mark_answered(state, offers, offer_message.message_id, "declined")
        await answer_callback(callback)
        await offer_message.edit_text(_("avatar-offer-declined"))
        return
    await answer_callback(callback)
    image = IncomingImage.from_data(offer["image"])
    limit = resources.settings_as(GatewaySettings).avatar_max_bytes
    if await _upload(offer_message, bot, clients, learner, image, idempotency_key=offer["key"], limit=limit) is None:
        await _mark_answered(state, offers, offer_message.message_id, "refused")
        await _settle(offer_message, _("avatar-offer-refused"))
        return
    await _mark_answered(state, offers, offer_message.message_id, "accepted")
    await offer_message.edit_text(
        _("avatar-set"),
        reply_markup=keyboards.markup([[keyboards.button(_("avatar-open-profile"), ProfileCb(action="card"))]]),
    )


async def _mark_answered(state: FSMContext, offers: dict[str, Any], message_id: int, outcome: str) -> None:
    offers[str(message_id)] = {**offers[str(message_id)], "answered": outcome}
    await state.update_data({OFFERS: offers})


async def _settle(message: Message, text: str) -> None:
    """The offer says how it ended (its question and buttons go)."""
    with contextlib.suppress(TelegramBadRequest):  # already says it, or too old to edit
        await message.edit_text(text, reply_markup=None)


async def _upload(
    message: Message,
    bot: Bot,
    clients: ServiceClients,
    learner: LearnerCtx,
    image: IncomingImage,
    *,
    idempotency_key: str,
    limit: int,
) -> Avatar | None:
    """Set the avatar (`limit`: users' AVATAR_MAX_BYTES); a refusal is told in the chat (and None returned)."""
    await bot.send_chat_action(message.chat.id, ChatAction.UPLOAD_PHOTO)
    try:
        return await set_avatar(bot, clients, learner.user_id, image, idempotency_key=idempotency_key, max_bytes=limit)
    except AvatarRefusedError as refusal:
        text = _(_REFUSAL_TEXTS[refusal.reason])
        if refusal.detected:
            text += "\n" + _("avatar-refused-detected", format=refusal.detected)
        await message.answer(text + "\n" + _("avatar-formats"))
        return None
    except NotFoundError:  # erased meanwhile
        await message.answer(_("avatar-not-registered"))
        return None


async def menu_pressed_while_waiting(_message: Message, state: FSMContext) -> None:
    """A menu button is not a photo: the wait ends and the button does what it says."""
    await state.clear()
    raise SkipHandler


# -- the history -----------------------------------------------------------------------------------


async def my_photos_pressed(
    callback: CallbackQuery,
    learner: LearnerCtx | None,
    clients: ServiceClients,
    resources: Resources,
    bot: Bot,
) -> None:
    """«Мои фото»: the newest avatars (the history's first page), see `show_history`."""
    await show_history(callback, learner, clients, resources, bot, page=0)


async def page_pressed(  # noqa: PLR0917 - aiogram injects what the handler needs
    callback: CallbackQuery,
    callback_data: AvatarCb,
    learner: LearnerCtx | None,
    clients: ServiceClients,
    resources: Resources,
    bot: Bot,
) -> None:
    """«⬅️ Старше» / «Новее ➡️»: another page of the history, see `show_history`."""
    await show_history(callback, learner, clients, resources, bot, page=callback_data.page)


async def show_history(
    callback: CallbackQuery,
    learner: LearnerCtx | None,
    clients: ServiceClients,
    resources: Resources,
    bot: Bot,
    *,
    page: int,
) -> None:
    """A page of the avatars, newest first (`ALBUM_LIMIT` a page, numbered across pages: №11… on the
    second), as an album of small images numbered in their captions, then a message saying which numbers
    could not be shown (their images are gone from storage), with a button to go back to each earlier one
    shown, one to delete the current one (wherever it is in the history) and the pages' buttons. A page past
    the end (photos deleted meanwhile) is the last one."""
    if learner is None:
        await not_registered(callback)
        return
    await answer_callback(callback)
    history = await clients.users.avatars(learner.user_id)
    chat_id = learner.telegram_id
    if not history:
        await bot.send_message(chat_id, _("avatar-history-empty"), reply_markup=_change_photo_keyboard())
        return
    page = min(page, (len(history) - 1) // ALBUM_LIMIT)
    numbered = list(enumerate(history, start=1))[page * ALBUM_LIMIT : (page + 1) * ALBUM_LIMIT]
    captions = [_caption(number, avatar) for number, avatar in numbered]
    await bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
    sent = await images(bot, clients, resources).send_album(
        chat_id, learner.user_id, [avatar for _number, avatar in numbered], captions, "small"
    )
    shown_ids = {avatar.id for avatar in sent}
    shown = [(number, avatar) for number, avatar in numbered if avatar.id in shown_ids]
    missing = [number for number, avatar in numbered if avatar.id not in shown_ids]
    lines = [_("avatar-history", count=len(history))]
    if not shown:
        lines.append(_("avatar-history-none-shown", numbers=_numbers(missing)))
    else:
        lines.append(_("avatar-history-shown", numbers=_number_range(numbered[0][0], numbered[-1][0])))
        if missing:
            lines.append(_("avatar-history-missing", numbers=_numbers(missing)))
    if any(not avatar.is_current for _number, avatar in shown):
        lines.append(_("avatar-history-restore-hint"))
    current = next((avatar for avatar in history if avatar.is_current), None)
    if current is not None:  # the delete button is there only then
        lines.append(_("avatar-history-remove-hint"))
    has_older = (page + 1) * ALBUM_LIMIT < len(history)
    keyboard = _history_keyboard(shown, current, page=page, has_older=has_older)
    await bot.send_message(chat_id, "\n".join(lines), reply_markup=keyboard)


def _caption(number: int, avatar: Avatar) -> str:
    key = "avatar-history-item-current" if avatar.is_current else "avatar-history-item"
    return _(key, number=number, date=format_date(avatar.created_at))


def _numbers(numbers: list[int]) -> str:
    """«№3, №5»: the numbers of the history's photos, in the learner's language."""
    return ", ".join(_("avatar-number", number=number) for number in numbers)


def _number_range(first: int, last: int) -> str:
    """«№11–12» (or «№11» alone)."""
    if first == last:
        return _("avatar-number", number=first)
    return _("avatar-number-range", first=first, last=last)


def _history_keyboard(
    shown: list[tuple[int, Avatar]], current: Avatar | None, *, page: int, has_older: bool
) -> InlineKeyboardMarkup:
    restore = [
        keyboards.button(_("avatar-restore", number=number), AvatarCb(action="restore", avatar_id=avatar.id))
        for number, avatar in shown
        if not avatar.is_current
    ]
    rows = [restore[i : i + _RESTORE_BUTTONS_PER_ROW] for i in range(0, len(restore), _RESTORE_BUTTONS_PER_ROW)]
    pages = []
    if has_older:
        pages.append(keyboards.button(_("avatar-history-older"), AvatarCb(action="page", page=page + 1)))
    if page > 0:
        pages.append(keyboards.button(_("avatar-history-newer"), AvatarCb(action="page", page=page - 1)))
    if pages:
        rows.append(pages)
    if current is not None:
        rows.append([keyboards.button(_("avatar-remove"), AvatarCb(action="remove", avatar_id=current.id))])
    rows.append([keyboards.button(_("avatar-change"), ProfileCb(action="photo"))])
    return keyboards.markup(rows)


def _change_photo_keyboard() -> InlineKeyboardMarkup:
    return keyboards.markup([[keyboards.button(_("avatar-change"), ProfileCb(action="photo"))]])


async def restore_pressed(  # noqa: PLR0917 - aiogram injects what the handler needs
    callback: CallbackQuery,
    callback_data: AvatarCb,
    learner: LearnerCtx | None,
    clients: ServiceClients,
    resources: Resources,
    bot: Bot,
) -> None:
    """«↩️ Вернуть №n»: that avatar is the current one again, shown in the chat to confirm."""
    if learner is None:
        await not_registered(callback)
        return
    try:
        await clients.users.restore_avatar(learner.user_id, callback_data.avatar_id)
    except NotFoundError:
        await answer_callback(callback, _("avatar-gone"), alert=True)
        return
    await answer_callback(callback)
    after = keyboards.markup(
        [
            [
                keyboards.button(_("avatar-open-profile"), ProfileCb(action="card")),
                keyboards.button(_("avatar-my-photos"), ProfileCb(action="photos")),
            ]
        ]
    )
    shown = await images(bot, clients, resources).send_photo(
        learner.telegram_id,
        learner.user_id,
        callback_data.avatar_id,
        "large",
        caption=_("avatar-restored"),
        reply_markup=after,
    )
    if shown is None:
        await bot.send_message(learner.telegram_id, _("avatar-restored"), reply_markup=after)


async def remove_pressed(  # noqa: PLR0917 - aiogram injects what the handler needs
    callback: CallbackQuery,
    callback_data: AvatarCb,
    learner: LearnerCtx | None,
    clients: ServiceClients,
    resources: Resources,
    bot: Bot,
) -> None:
    """«🗑 Удалить текущее фото»: deletes the current avatar, if it is still the one the screen showed."""
    if learner is None:
        await not_registered(callback)
        return
    current = await current_avatar(clients, learner.user_id)
    if current is None or current.id != callback_data.avatar_id:
        await answer_callback(callback, _("avatar-not-current-any-more"), alert=True)
        return
    if not await clients.users.remove_current_avatar(learner.user_id):
        await answer_callback(callback, _("avatar-not-current-any-more"), alert=True)
        return
    await images(bot, clients, resources).forget(learner.user_id, current.id)
    await answer_callback(callback)
    await bot.send_message(learner.telegram_id, _("avatar-removed"), reply_markup=_change_photo_keyboard())


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only. Before the menu's
    routers (a menu button ends the wait for a photo) and the fallback (which answers other files)."""
    router = Router(name="avatars")
    private = F.chat.type == ChatType.PRIVATE
    image = F.photo | F.document
    router.callback_query.register(change_photo_pressed, ProfileCb.filter(F.action == "photo"))
    router.callback_query.register(my_photos_pressed, ProfileCb.filter(F.action == "photos"))
    router.callback_query.register(offer_answered, AvatarCb.filter(F.action.in_({"confirm", "decline"})))
    # Restore and remove name an avatar (0 names none: a forged press is left to the fallback, «устарела»).
    router.callback_query.register(restore_pressed, AvatarCb.filter((F.action == "restore") & (F.avatar_id > 0)))
    router.callback_query.register(remove_pressed, AvatarCb.filter((F.action == "remove") & (F.avatar_id > 0)))
    router.callback_query.register(page_pressed, AvatarCb.filter(F.action == "page"))
    router.message.register(menu_pressed_while_waiting, AvatarUpload.photo, any_menu_button())
    router.message.register(photo_for_avatar, AvatarUpload.photo, private, image)
    router.message.register(photo_sent_anytime, StateFilter(None), private, image)
    return router
