"""The profile: the learner's card (users + gamification) and editing of name and city.

The card is a photo with the card's text as its caption when the learner has an avatar (a text message
when the text would pass Telegram's 1024-character caption limit: the photo, then the card), a text
message otherwise. Its buttons lead to editing, the avatars (`handlers/avatars.py`), the learner's data
and the withdrawal of consent (`handlers/privacy.py`).
"""

from __future__ import annotations

import html
from typing import Any, Literal

from academy_runtime import phones
from academy_runtime.errors import NotFoundError
from academy_runtime.resources import Resources
from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from academy_gateway_bot.avatars import AvatarImages, current_avatar
from academy_gateway_bot.callbacks import ProfileCb
from academy_gateway_bot.clients import Account, ServiceClients
from academy_gateway_bot.context import LearnerCtx
from academy_gateway_bot.fitting import CAPTION_LIMIT, telegram_length
from academy_gateway_bot.handlers.menu import any_menu_button, show_main_menu
from academy_gateway_bot.handlers.registration import TYPED_ANSWER, city_keyboard, clean_name
from academy_gateway_bot.i18n import _, button_filter, current_locale
from academy_gateway_bot.learners import learner_changed
from academy_gateway_bot.screens import answer_callback, not_registered
from academy_gateway_bot.settings import GatewaySettings
from academy_gateway_bot.states import ProfileEditing


class EditProfile(CallbackData, prefix="profile"):
    field: Literal["full_name", "city"]


def _level(points: dict[str, Any]) -> str:
    locale = current_locale()
    title = points.get(f"level_title_{locale}") or points.get("level_title_ru")
    return f"{points['level']} · {html.escape(title)}" if title else str(points["level"])


def _time_zone(account: Account) -> str:
    """The learner's zone (users decides it: chosen, from the city through a gazetteer, or the
    default); a default zone says how to get the right one, since reminders keep to its daytime."""
    zone = account.time_zone or ""
    if not zone:
        return _("value-unknown")
    if account.time_zone_source == "default":
        return _("profile-time-zone-default", time_zone=zone)
    return zone


def _card_keyboard() -> InlineKeyboardMarkup:
    def button(text_key: str, data: CallbackData) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=_(text_key), callback_data=data.pack())

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button("profile-edit-name", EditProfile(field="full_name")),
                button("profile-edit-city", EditProfile(field="city")),
            ],
            [
                button("avatar-change", ProfileCb(action="photo")),
                button("avatar-my-photos", ProfileCb(action="photos")),
            ],
            [button("privacy-my-data", ProfileCb(action="data"))],
            [button("privacy-erase", ProfileCb(action="erase"))],
        ]
    )


async def send_profile_card(
    message: Message, learner: LearnerCtx, clients: ServiceClients, resources: Resources
) -> None:
    """The learner's card in `message`'s chat: a photo with the card as its caption when they have an
    avatar (Telegram's caption holds 1024 characters; a longer card comes as a text after the photo)."""
    account = await clients.users.account(learner.user_id)
    points = await clients.gamification.get(f"/internal/learners/{learner.user_id}/points")
    unknown = _("value-unknown")
    text = _(
        "profile-details",
        name=html.escape(account.full_name or unknown),
        city=html.escape(account.city or unknown),
        phone=phones.mask_phone(account.phone, hidden="•") if account.phone else unknown,
        time_zone=_time_zone(account),
        points=points["total_points"],
        level=_level(points),
    )
    keyboard = _card_keyboard()
    try:
        avatar = await current_avatar(clients, learner.user_id)
    except NotFoundError:  # erased meanwhile: the card without a photo (the next update finds no learner)
        avatar = None
    if avatar is not None and message.bot is not None:
        fits = telegram_length(text) <= CAPTION_LIMIT
        prefix = resources.settings_as(GatewaySettings).redis_prefix
        photo = await AvatarImages(message.bot, resources.redis, prefix, clients).send_photo(
            message.chat.id,
            learner.user_id,
            avatar.id,
            "large",
            caption=text if fits else None,
            reply_markup=keyboard if fits else None,
        )
        if photo is not None and fits:
            return
        if photo is None:  # the image is gone from storage: the card says so instead of hiding it
            text += "\n\n" + _("avatar-card-unavailable")
    await message.answer(text, reply_markup=keyboard)


async def profile(
    message: Message, learner: LearnerCtx | None, clients: ServiceClients, state: FSMContext, resources: Resources
) -> None:
    """/profile and the menu's «👤 Профиль»: leaves any step and shows the card."""
    if learner is None:
        await message.answer(_("profile-not-registered"))
        return
    await state.clear()
    await send_profile_card(message, learner, clients, resources)


async def card_pressed(
    callback: CallbackQuery, learner: LearnerCtx | None, clients: ServiceClients, resources: Resources
) -> None:
    """«👤 Профиль» under a message (an avatar set or restored): the card as a new message."""
    if learner is None or not isinstance(callback.message, Message):
        await not_registered(callback)
        return
    await answer_callback(callback)
    await send_profile_card(callback.message, learner, clients, resources)


async def edit_requested(
    callback: CallbackQuery, callback_data: EditProfile, learner: LearnerCtx | None, state: FSMContext
) -> None:
    if learner is None or not isinstance(callback.message, Message):
        await callback.answer(_("profile-not-registered"), show_alert=True)
        return
    await callback.answer()
    if callback_data.field == "full_name":
        await state.set_state(ProfileEditing.full_name)
        await callback.message.answer(_("profile-ask-name"))
    else:
        await state.set_state(ProfileEditing.city)
        await callback.message.answer(_("profile-ask-city"), reply_markup=city_keyboard())


async def menu_pressed_while_editing(_message: Message, state: FSMContext) -> None:
    """A menu button is not a new name or city: the edit is dropped and the button does what it says
    (SkipHandler passes the message on to the router that handles that button)."""
    await state.clear()
    raise SkipHandler


async def new_name(  # noqa: PLR0917 - aiogram injects what the handler needs
    message: Message,
    learner: LearnerCtx | None,
    state: FSMContext,
    clients: ServiceClients,
    resources: Resources,
    idempotency_key: str,
) -> None:
    await _save(message, learner, state, clients, resources, idempotency_key, "full_name", "registration-name-invalid")


async def new_city(  # noqa: PLR0917 - aiogram injects what the handler needs
    message: Message,
    learner: LearnerCtx | None,
    state: FSMContext,
    clients: ServiceClients,
    resources: Resources,
    idempotency_key: str,
) -> None:
    await _save(message, learner, state, clients, resources, idempotency_key, "city", "registration-city-invalid")


async def _save(  # noqa: PLR0917
    message: Message,
    learner: LearnerCtx | None,
    state: FSMContext,
    clients: ServiceClients,
    resources: Resources,
    idempotency_key: str,
    field: str,
    invalid_key: str,
) -> None:
    if learner is None:
        await state.clear()
        return
    value = clean_name(message.text or "")
    if value is None:
        await message.answer(_(invalid_key))
        return
    account = await clients.users.change(learner.user_id, {field: value}, idempotency_key=f"{idempotency_key}:profile")
    updated = await learner_changed(resources, account)
    await state.clear()
    await show_main_menu(message, _("profile-saved"))
    await send_profile_card(message, updated, clients, resources)


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="profile")
    router.message.register(profile, Command("profile"))
    router.message.register(profile, button_filter("menu-profile"))
    router.message.register(help_command, Command("help"))
    router.callback_query.register(edit_requested, EditProfile.filter())
    router.callback_query.register(card_pressed, ProfileCb.filter(F.action == "card"))
    menu_button = any_menu_button()
    router.message.register(menu_pressed_while_editing, StateFilter(ProfileEditing), menu_button)
    # The state seen by the filters is the one before menu_pressed_while_editing cleared it.
    router.message.register(new_name, ProfileEditing.full_name, TYPED_ANSWER, ~menu_button)
    router.message.register(new_city, ProfileEditing.city, TYPED_ANSWER, ~menu_button)
    return router


async def help_command(message: Message) -> None:
    await message.answer(_("help"))
