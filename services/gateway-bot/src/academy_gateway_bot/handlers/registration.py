"""Registration as a conversation: consent to personal-data processing, full name, phone, city.

The answers live only in the conversation state (Redis, with a TTL) until the last one; then the users
service registers the learner in one call. Someone who declines or cancels leaves nothing behind but
their Telegram id in the update log.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from academy_runtime import phones
from academy_runtime.phones import AmbiguousPhone, RejectedPhone, ValidPhone, format_phone
from academy_runtime.resources import Resources
from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    User,
)
from babel import Locale

from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.context import LearnerCtx
from academy_gateway_bot.handlers.menu import show_main_menu
from academy_gateway_bot.i18n import _, current_locale, locale_for
from academy_gateway_bot.learners import learner_changed
from academy_gateway_bot.screens import format_moment
from academy_gateway_bot.settings import GatewaySettings
from academy_gateway_bot.states import Registration

# Quick picks (messages of start.ftl, named in the learner's language): the biggest cities of the
# academy's learners; any other city can be typed.
QUICK_PICK_CITIES = (
    "city-moscow",
    "city-saint-petersburg",
    "city-novosibirsk",
    "city-yekaterinburg",
    "city-kazan",
    "city-krasnodar",
)

_WORDS = r"[^\W\d_]+(?:[ '’.\-]+[^\W\d_]+)*\.?"  # letters, words joined by spaces, hyphens, apostrophes
_NAME = re.compile(_WORDS)
_NAME_LENGTH = range(2, 101)
_REGISTRATION_ANSWERS = {"consent_version", "consent_at", "full_name", "phone"}

# Free text, not a command: "/cancel" typed in the middle of the conversation is handled as a command.
TYPED_ANSWER = F.text & ~F.text.startswith("/")


def clean_name(text: str) -> str | None:
    """A full name or a city as typed, spaces tidied; None when it is not 2–100 letters and separators."""
    value = " ".join(text.split())
    if len(value) not in _NAME_LENGTH or not _NAME.fullmatch(value):
        return None
    return value


def city_keyboard() -> ReplyKeyboardMarkup:
    cities = [KeyboardButton(text=_(city)) for city in QUICK_PICK_CITIES]
    return ReplyKeyboardMarkup(
        keyboard=[cities[i : i + 2] for i in range(0, len(cities), 2)], resize_keyboard=True, one_time_keyboard=True
    )


class ConsentAnswer(CallbackData, prefix="consent"):
    accepted: bool
    version: str  # the version of the text the learner read


async def offer_consent(message: Message, state: FSMContext, version: str) -> None:
    """The first step: the consent text with its version, and the two answers."""
    locale = current_locale()
    await state.set_state(Registration.consent)
    await state.set_data({"locale": locale})
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("consent-accept"),
                    callback_data=ConsentAnswer(accepted=True, version=version).pack(),
                ),
                InlineKeyboardButton(
                    text=_("consent-decline"),
                    callback_data=ConsentAnswer(accepted=False, version=version).pack(),
                ),
            ]
        ]
    )
    await message.answer(_("consent-text", version=html.escape(version)), reply_markup=keyboard)


async def consent_answered(
    callback: CallbackQuery,
    callback_data: ConsentAnswer,
    state: FSMContext,
    learner: LearnerCtx | None,
    resources: Resources,
) -> None:
    message = callback.message if isinstance(callback.message, Message) else None
    if learner is not None:
        await callback.answer(_("registration-already"))
        return
    if message is None:  # the consent message is too old to edit: start over
        await callback.answer(_("conversation-start-again"), show_alert=True)
        return
    await message.edit_reply_markup(reply_markup=None)
    version = resources.settings_as(GatewaySettings).consent_version
    if not callback_data.accepted:
        await state.clear()
        await callback.answer()
        await message.answer(_("consent-declined"))
        return
    if callback_data.version != version:
        await callback.answer(_("consent-outdated"), show_alert=True)
        await offer_consent(message, state, version)
        return
    accepted_at = datetime.now(UTC)
    data = await state.get_data()
    locale = data.get("locale", current_locale())  # the language the conversation started in
    await state.set_data({"locale": locale, "consent_version": version, "consent_at": accepted_at.isoformat()})
    await state.set_state(Registration.full_name)
    await callback.answer()
    when = format_moment(accepted_at)
    await message.answer(
        _("consent-accepted", version=html.escape(version), when=when) + "\n\n" + _("registration-ask-name")
    )


async def consent_not_answered(message: Message) -> None:
    await message.answer(_("consent-use-buttons"))


async def name_given(message: Message, state: FSMContext) -> None:
    full_name = clean_name(message.text or "")
    if full_name is None:
        await message.answer(_("registration-name-invalid"))
        return
    await state.update_data(full_name=full_name)
    await state.set_state(Registration.phone)
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("registration-share-phone"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await message.answer(_("registration-ask-phone"), reply_markup=keyboard)


async def name_not_text(message: Message) -> None:
    await message.answer(_("registration-name-invalid"))


async def contact_shared(message: Message, state: FSMContext) -> None:
    contact = message.contact
    assert contact is not None
    # A contact card of someone else can be forwarded too; only the learner's own number is theirs to give.
    if message.from_user is None or contact.user_id != message.from_user.id:
        await message.answer(_("registration-phone-not-own"))
        return
    await _phone_given(message, state, phones.read_shared_phone(contact.phone_number))


async def phone_typed(message: Message, state: FSMContext, resources: Resources) -> None:
    region = phone_region(message.from_user, resources.settings_as(GatewaySettings))
    await _phone_given(message, state, phones.read_typed_phone(message.text or "", region=region))


def phone_region(user: User | None, settings: GatewaySettings) -> str | None:
    """The region a typed number without "+" is read in: the region subtag of the learner's Telegram
    language (`en-GB` → GB); else the academy's default (`DEFAULT_PHONE_REGION`, RU) for a reader of
    Russian; else none, and only an international notation is read (an English speaker's «916 123 45
    67» could be from anywhere: they are asked for the country code instead of being taken for Russia)."""
    tag = (user.language_code or "") if user else ""
    parts = tag.replace("_", "-").split("-")
    if len(parts) > 1 and len(parts[1]) == 2 and parts[1].isalpha():  # noqa: PLR2004 - ISO 3166 alpha-2
        return parts[1].upper()
    if not tag or locale_for(tag) == "ru":
        return settings.default_phone_region
    return None


class PhoneChoice(CallbackData, prefix="phone"):
    """The learner's pick among the readings of an ambiguous typed number (E.164, ≤ 16 characters)."""

    e164: str


async def _phone_given(
    message: Message, state: FSMContext, reading: ValidPhone | AmbiguousPhone | RejectedPhone
) -> None:
    match reading:
        case ValidPhone(e164=e164):
            await _phone_accepted(message, state, e164)
        case AmbiguousPhone(candidates=candidates):
            buttons = [
                [
                    InlineKeyboardButton(
                        text=f"{format_phone(c)} · {_region_name(c)}", callback_data=PhoneChoice(e164=c).pack()
                    )
                ]
                for c in candidates
            ]
            await message.answer(
                _("registration-phone-which"), reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons)
            )
        case RejectedPhone(reason=reason):
            await message.answer(_(f"registration-phone-{reason.value.replace('_', '-')}"))


def _region_name(e164: str) -> str:
    region = phones.phone_region(e164)
    if region is None:
        return ""
    return str(Locale.parse(current_locale()).territories.get(region, region))


async def _phone_accepted(message: Message, state: FSMContext, e164: str) -> None:
    await state.update_data(phone=e164)
    await state.set_state(Registration.city)
    await message.answer(_("registration-ask-city"), reply_markup=city_keyboard())


async def phone_chosen(callback: CallbackQuery, callback_data: PhoneChoice, state: FSMContext) -> None:
    """One reading of an ambiguous number pressed (checked again: callback data comes from the client)."""
    reading = phones.check_e164(callback_data.e164)
    if await state.get_state() != Registration.phone.state or not isinstance(reading, ValidPhone):
        await callback.answer(_("fallback-stale-button"), show_alert=True)
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await _phone_accepted(callback.message, state, reading.e164)


async def phone_not_given(message: Message) -> None:
    await message.answer(_("registration-phone-not-a-number"))


async def city_given(
    message: Message,
    state: FSMContext,
    clients: ServiceClients,
    resources: Resources,
    idempotency_key: str,
) -> None:
    data = await state.get_data()
    locale = data.get("locale", current_locale())
    if not data.keys() >= _REGISTRATION_ANSWERS:  # the answers expired (CONVERSATION_TTL_S): start over
        await state.clear()
        await message.answer(_("conversation-start-again"))
        return
    city = clean_name(message.text or "")
    if city is None:
        await message.answer(_("registration-city-invalid"))
        return
    user = message.from_user
    if user is None:
        return
    registration = await clients.users.register(
        {
            "telegram_id": user.id,
            "username": user.username,
            "locale": locale,
            "full_name": data["full_name"],
            "phone": data["phone"],
            "city": city,
            "consent": {"version": data["consent_version"], "accepted_at": data["consent_at"]},
        },
        idempotency_key=f"{idempotency_key}:register",
    )
    learner = await learner_changed(resources, registration.learner)
    await state.clear()  # the answers are with the users service now; nothing stays in Redis
    first_name = html.escape((learner.display_name or data["full_name"] or user.first_name).split()[0])
    key = "welcome-new" if registration.created else "welcome-back"
    await show_main_menu(message, _(key, name=first_name))


async def city_not_text(message: Message) -> None:
    await message.answer(_("registration-city-invalid"))


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="registration")
    router.callback_query.register(consent_answered, ConsentAnswer.filter())
    router.message.register(consent_not_answered, Registration.consent, ~F.text.startswith("/"))
    router.message.register(name_given, Registration.full_name, TYPED_ANSWER)
    router.message.register(name_not_text, Registration.full_name, ~F.text)
    router.message.register(contact_shared, Registration.phone, F.contact)
    router.message.register(phone_typed, Registration.phone, TYPED_ANSWER)
    router.message.register(phone_not_given, Registration.phone, ~F.text)
    router.callback_query.register(phone_chosen, PhoneChoice.filter())
    router.message.register(city_given, Registration.city, TYPED_ANSWER)
    router.message.register(city_not_text, Registration.city, ~F.text)
    return router
