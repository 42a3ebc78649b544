"""Registration as a conversation, played through the emulator against the real services."""

import pytest
from academy_gateway_bot.handlers.registration import clean_name
from academy_gateway_bot.models import Learner
from academy_runtime.errors import NotFoundError
from academy_tg_emulator.client import ChatMessage, TestUser
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import select

pytestmark = pytest.mark.integration

WAIT = 15.0
RU_MENU = [
    "📚 Каталог курсов",
    "🎓 Мои курсы",
    "🏆 Баллы и достижения",
    "👥 Сообщества",
    "💰 Баланс",
    "👤 Профиль",
    "🌐 Язык / Language",
]


def has(text: str):
    return lambda m: text in (m.text or "")


async def register(
    tg, user: TestUser, *, full_name: str = "Анна Смирнова", phone: str = "+7 916 123-45-67", city: str = "Москва"
) -> ChatMessage:
    """The whole conversation, answered correctly; returns the welcome message."""
    sent = await tg.send_command(user, "start")
    consent = await tg.wait_for_reply(sent, lambda m: bool(m.inline_buttons()), timeout=WAIT)
    await tg.press_button(user, consent.message_id, consent.inline_buttons()[0]["callback_data"])
    await tg.wait_for_message(user.id, after=consent.message_id, timeout=WAIT)  # "what is your name?"
    sent = await tg.send_text(user, full_name)
    await tg.wait_for_reply(sent, timeout=WAIT)
    sent = await tg.share_contact(user, phone)
    await tg.wait_for_reply(sent, timeout=WAIT)
    sent = await tg.send_text(user, city)
    welcome = await tg.wait_for_reply(sent, lambda m: "Beauty Academy" in (m.text or ""), timeout=WAIT)
    # The welcome points come on their own (an event); waiting for them keeps them from passing for the
    # reply to whatever the test sends next.
    await tg.wait_for_reply(sent, lambda m: "+50" in (m.text or ""), timeout=WAIT)
    return welcome


async def learner_in_users(gateway, telegram_id: int) -> dict | None:
    try:
        return await gateway.clients.users.get(f"/internal/users/by-telegram/{telegram_id}")
    except NotFoundError:
        return None


async def conversation_data(gateway, user: TestUser) -> dict:
    key = StorageKey(bot_id=gateway.bot.id, chat_id=user.id, user_id=user.id)
    return await gateway.dispatcher.storage.get_data(key)


async def test_the_whole_registration_conversation(gateway, tg, resources):
    anna = TestUser.new("Anya", language_code="ru")

    sent = await tg.send_command(anna, "start")
    consent = await tg.wait_for_reply(sent, timeout=WAIT)
    assert "Согласие на обработку персональных данных" in consent.text
    assert "версия 2026-11-30" in consent.text
    assert [b["text"] for b in consent.inline_buttons()] == ["✅ Принимаю", "✖️ Не принимаю"]

    press = await tg.press_button_by_text(anna, consent, "✅ Принимаю")
    await tg.wait_for_callback_answer(press, timeout=WAIT)
    ask_name = await tg.wait_for_message(anna.id, has("Как вас зовут"), after=consent.message_id, timeout=WAIT)
    assert "Согласие (версия 2026-11-30) принято" in ask_name.text

    sent = await tg.send_text(anna, "A1")
    assert "Имя должно быть" in (await tg.wait_for_reply(sent, timeout=WAIT)).text
    sent = await tg.send_text(anna, "  Анна   Смирнова-Петрова ")
    ask_phone = await tg.wait_for_reply(sent, timeout=WAIT)
    assert "номером телефона" in ask_phone.text
    assert ask_phone.button("📱 Поделиться номером").get("request_contact") is True

    sent = await tg.send_text(anna, "позвоните мне")
    assert "Не похоже на номер телефона" in (await tg.wait_for_reply(sent, timeout=WAIT)).text
    sent = await tg.send_text(anna, "12345")
    assert "не хватает цифр" in (await tg.wait_for_reply(sent, timeout=WAIT)).text
    # Until the last answer, everything lives in the conversation state only.
    assert (await conversation_data(gateway, anna))["full_name"] == "Анна Смирнова-Петрова"
    assert await learner_in_users(gateway, anna.id) is None

    sent = await tg.share_contact(anna, "79161234567")
    ask_city = await tg.wait_for_reply(sent, timeout=WAIT)
    assert "В каком городе" in ask_city.text
    assert "Санкт-Петербург" in [b["text"] for b in ask_city.keyboard_buttons()]

    sent = await tg.send_text(anna, "Казань")
    welcome = await tg.wait_for_reply(sent, timeout=WAIT)
    assert "Добро пожаловать в Beauty Academy, Анна!" in welcome.text
    assert [b["text"] for b in welcome.keyboard_buttons()] == RU_MENU
    points = await tg.wait_for_message(anna.id, has("баллов за регистрацию"), after=sent.message_id, timeout=WAIT)
    assert "+50 баллов за регистрацию" in points.text

    learner = await learner_in_users(gateway, anna.id)
    assert learner is not None
    assert learner["consent_personal_data"] is True
    assert learner["consent_version"] == "2026-11-30"
    assert learner["consent_at"] is not None
    assert (learner["full_name"], learner["phone"], learner["city"]) == (
        "Анна Смирнова-Петрова",
        "+79161234567",
        "Казань",
    )
    assert await conversation_data(gateway, anna) == {}  # the answers left Redis with the registration
    async with resources.sessionmaker() as session:
        projection = (await session.execute(select(Learner).where(Learner.telegram_id == anna.id))).scalar_one()
    assert (projection.user_id, projection.locale) == (learner["id"], "ru")


async def test_a_typed_phone_is_accepted_in_any_usual_notation(gateway, tg):
    boris = TestUser.new("Boris", language_code="ru")
    sent = await tg.send_command(boris, "start")
    consent = await tg.wait_for_reply(sent, timeout=WAIT)
    await tg.press_button_by_text(boris, consent, "✅ Принимаю")
    await tg.wait_for_message(boris.id, has("Как вас зовут"), after=consent.message_id, timeout=WAIT)
    await tg.wait_for_reply(await tg.send_text(boris, "Борис Иванов"), timeout=WAIT)

    await tg.wait_for_reply(await tg.send_text(boris, "8 (903) 000-11-22"), has("В каком городе"), timeout=WAIT)
    await tg.wait_for_reply(await tg.send_text(boris, "Москва"), has("Beauty Academy"), timeout=WAIT)

    assert (await learner_in_users(gateway, boris.id))["phone"] == "+79030001122"


async def test_declining_stores_nothing_and_start_offers_the_consent_again(gateway, tg, resources):
    dina = TestUser.new("Dina", language_code="ru")
    sent = await tg.send_command(dina, "start")
    consent = await tg.wait_for_reply(sent, timeout=WAIT)

    await tg.press_button_by_text(dina, consent, "✖️ Не принимаю")
    declined = await tg.wait_for_message(dina.id, has("ничего о вас не сохранили"), after=consent.message_id)

    assert "/start" in declined.text
    assert await learner_in_users(gateway, dina.id) is None
    assert await conversation_data(gateway, dina) == {}
    assert (
        await gateway.dispatcher.storage.get_state(StorageKey(bot_id=gateway.bot.id, chat_id=dina.id, user_id=dina.id))
        is None
    )
    async with resources.sessionmaker() as session:
        assert (await session.execute(select(Learner).where(Learner.telegram_id == dina.id))).first() is None
    sent = await tg.send_text(dina, "Дина Петрова")  # not in the conversation any more: not taken as a name
    sent = await tg.send_command(dina, "start")
    again = await tg.wait_for_reply(sent, has("Согласие на обработку"), timeout=WAIT)
    assert again.inline_buttons()
    assert await learner_in_users(gateway, dina.id) is None


async def test_someone_elses_contact_is_refused(gateway, tg):
    vera = TestUser.new("Vera", language_code="ru")
    sent = await tg.send_command(vera, "start")
    consent = await tg.wait_for_reply(sent, timeout=WAIT)
    await tg.press_button_by_text(vera, consent, "✅ Принимаю")
    await tg.wait_for_message(vera.id, has("Как вас зовут"), after=consent.message_id, timeout=WAIT)
    await tg.wait_for_reply(await tg.send_text(vera, "Вера Соколова"), timeout=WAIT)

    sent = await tg.share_contact(vera, "+79005553535", own=False, first_name="Подруга")
    refused = await tg.wait_for_reply(sent, timeout=WAIT)

    assert "чужой контакт" in refused.text
    assert "phone" not in await conversation_data(gateway, vera)
    sent = await tg.share_contact(vera, "+79160000001")
    await tg.wait_for_reply(sent, has("В каком городе"), timeout=WAIT)
    await tg.wait_for_reply(await tg.send_text(vera, "Москва"), has("Beauty Academy"), timeout=WAIT)
    assert (await learner_in_users(gateway, vera.id))["phone"] == "+79160000001"


async def test_cancel_discards_the_answers(gateway, tg):
    gleb = TestUser.new("Gleb", language_code="en")
    sent = await tg.send_command(gleb, "start")
    consent = await tg.wait_for_reply(sent, timeout=WAIT)
    assert "Consent to the processing of personal data" in consent.text
    await tg.press_button_by_text(gleb, consent, "✅ I agree")
    await tg.wait_for_message(gleb.id, has("What is your name"), after=consent.message_id, timeout=WAIT)
    await tg.wait_for_reply(await tg.send_text(gleb, "Gleb Orlov"), has("phone number"), timeout=WAIT)

    cancelled = await tg.wait_for_reply(await tg.send_command(gleb, "cancel"), timeout=WAIT)

    assert "Cancelled" in cancelled.text
    assert await conversation_data(gateway, gleb) == {}
    assert await learner_in_users(gateway, gleb.id) is None
    reply = await tg.wait_for_reply(await tg.send_command(gleb, "cancel"), timeout=WAIT)
    assert "Nothing to cancel" in reply.text


async def test_start_by_a_registered_learner_says_welcome_back_with_the_menu(gateway, tg):
    lena = TestUser.new("Lena", language_code="ru")
    await register(tg, lena, full_name="Елена Котова")
    learner = await learner_in_users(gateway, lena.id)

    sent = await tg.send_command(lena, "start")
    again = await tg.wait_for_reply(sent, has("С возвращением"), timeout=WAIT)

    assert "С возвращением, Елена" in again.text
    assert [b["text"] for b in again.keyboard_buttons()] == RU_MENU
    assert (await learner_in_users(gateway, lena.id))["id"] == learner["id"]
    assert not [m for m in await tg.messages(lena.id, after=sent.message_id) if "Согласие" in (m.text or "")]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("  Анна   Смирнова ", "Анна Смирнова"),
        ("Jean-Luc O'Neil", "Jean-Luc O'Neil"),
        ("St. Petersburg", "St. Petersburg"),
        ("Ростов-на-Дону", "Ростов-на-Дону"),
        ("A", None),
        ("Анна2", None),
        ("📚 Каталог курсов", None),
        ("x" * 101, None),
        ("--", None),
    ],
)
def test_names_and_cities_are_letters_with_separators(typed, expected):
    assert clean_name(typed) == expected
