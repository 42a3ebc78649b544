"""The profile card and editing of name and city, saved in the users service."""

import pytest
from academy_tg_emulator.client import TestUser
from aiogram.fsm.storage.base import StorageKey

from .test_registration import WAIT, has, learner_in_users, register

pytestmark = pytest.mark.integration


async def test_profile_card_shows_name_city_masked_phone_and_points(gateway, tg):
    olga = TestUser.new("Olga", language_code="ru")
    welcome = await register(tg, olga, full_name="Ольга Белова", phone="+7 916 765-43-21", city="Казань")
    await tg.wait_for_message(olga.id, has("+50 баллов"), after=welcome.message_id, timeout=WAIT)

    card = await tg.wait_for_reply(await tg.send_text(olga, "👤 Профиль"), has("Имя:"), timeout=WAIT)

    assert "Имя: Ольга Белова" in card.text
    assert "Город: Казань" in card.text
    assert "Телефон: +7 916 •••-••-21" in card.text
    assert "7654321" not in card.text
    assert "Баллы: 50" in card.text
    assert [b["text"] for b in card.inline_buttons()] == [
        "✏️ Изменить имя",
        "🏙 Изменить город",
        "📷 Сменить фото",
        "🖼 Мои фото",
        "📄 Мои данные",
        "🗑 Отозвать согласие / удалить аккаунт",
    ]
    assert card.photo is None  # no avatar yet: the card is a text


async def test_editing_the_name_and_the_city_updates_the_learner(gateway, tg):
    pavel = TestUser.new("Pavel", language_code="ru")
    await register(tg, pavel, full_name="Павел Серов", city="Москва")
    card = await tg.wait_for_reply(await tg.send_command(pavel, "profile"), has("Профиль"), timeout=WAIT)

    await tg.press_button_by_text(pavel, card, "✏️ Изменить имя")
    await tg.wait_for_message(pavel.id, has("новое имя"), after=card.message_id, timeout=WAIT)
    invalid = await tg.wait_for_reply(await tg.send_text(pavel, "П"), has("Имя должно"), timeout=WAIT)
    assert "Имя должно быть" in invalid.text
    sent = await tg.send_text(pavel, "Павел Серов-Лесной")
    saved = await tg.wait_for_reply(sent, has("Сохранено"), timeout=WAIT)
    assert "🎓 Мои курсы" in [b["text"] for b in saved.keyboard_buttons()]
    new_card = await tg.wait_for_reply(sent, has("Имя: Павел Серов-Лесной"), timeout=WAIT)

    await tg.press_button_by_text(pavel, new_card, "🏙 Изменить город")
    ask_city = await tg.wait_for_message(pavel.id, has("новый город"), after=new_card.message_id, timeout=WAIT)
    assert "Санкт-Петербург" in [b["text"] for b in ask_city.keyboard_buttons()]
    sent = await tg.send_text(pavel, "Санкт-Петербург")
    await tg.wait_for_reply(sent, has("Город: Санкт-Петербург"), timeout=WAIT)

    learner = await learner_in_users(gateway, pavel.id)
    assert (learner["full_name"], learner["city"]) == ("Павел Серов-Лесной", "Санкт-Петербург")


async def test_a_menu_button_pressed_while_editing_is_not_taken_as_the_new_name(gateway, tg):
    zoya = TestUser.new("Zoya", language_code="ru")
    await register(tg, zoya, full_name="Зоя Миронова")
    card = await tg.wait_for_reply(await tg.send_command(zoya, "profile"), has("Профиль"), timeout=WAIT)
    await tg.press_button_by_text(zoya, card, "✏️ Изменить имя")
    await tg.wait_for_message(zoya.id, has("новое имя"), after=card.message_id, timeout=WAIT)

    choice = await tg.wait_for_reply(await tg.send_text(zoya, "🌐 Язык / Language"), has("/"), timeout=WAIT)

    assert "Выберите язык" in choice.text  # the button did what it says
    key = StorageKey(bot_id=gateway.bot.id, chat_id=zoya.id, user_id=zoya.id)
    assert await gateway.dispatcher.storage.get_state(key) is None  # the edit was dropped
    assert (await learner_in_users(gateway, zoya.id))["full_name"] == "Зоя Миронова"


async def test_profile_before_registration_asks_to_start(gateway, tg):
    nobody = TestUser.new("Nobody", language_code="en")

    reply = await tg.wait_for_reply(await tg.send_command(nobody, "profile"), timeout=WAIT)

    assert "You are not registered yet" in reply.text
