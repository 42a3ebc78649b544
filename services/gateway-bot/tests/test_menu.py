"""The main menu: shown after registration, on /start and on /menu, in the learner's language."""

import pytest
from academy_tg_emulator.client import TestUser

from .test_registration import RU_MENU, WAIT, has, register

pytestmark = pytest.mark.integration

EN_MENU = [
    "📚 Course catalog",
    "🎓 My courses",
    "🏆 Points & achievements",
    "👥 Communities",
    "💰 Balance",
    "👤 Profile",
    "🌐 Language / Язык",
]


async def test_menu_command_shows_the_main_menu(gateway, tg):
    mira = TestUser.new("Mira", language_code="ru")
    welcome = await register(tg, mira)
    assert [b["text"] for b in welcome.keyboard_buttons()] == RU_MENU

    reply = await tg.wait_for_reply(await tg.send_command(mira, "menu"), has("Главное меню"), timeout=WAIT)

    assert "Главное меню" in reply.text
    assert [b["text"] for b in reply.keyboard_buttons()] == RU_MENU
    assert reply.reply_markup.get("is_persistent") is True


async def test_an_english_speaking_learner_gets_the_menu_in_english(gateway, tg):
    sam = TestUser.new("Sam", language_code="en-GB")
    welcome = await register(tg, sam, full_name="Sam Taylor", city="London")

    assert "Welcome to Beauty Academy, Sam!" in welcome.text
    assert [b["text"] for b in welcome.keyboard_buttons()] == EN_MENU


async def test_menu_before_registration_asks_to_start(gateway, tg):
    nobody = TestUser.new("Nobody", language_code="ru")

    reply = await tg.wait_for_reply(await tg.send_command(nobody, "menu"), timeout=WAIT)

    assert "/start" in reply.text
    assert reply.keyboard_buttons() == []
