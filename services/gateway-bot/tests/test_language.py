"""The language: Telegram's at first, then the learner's choice, saved in users and the projection."""

import pytest
from academy_gateway_bot.models import Learner
from academy_tg_emulator.client import TestUser
from sqlalchemy import select

from .test_menu import EN_MENU
from .test_registration import WAIT, has, learner_in_users, register

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("language_code", "expected"),
    [
        ("ru", "Согласие на обработку"),
        ("uk", "Согласие на обработку"),
        ("en", "Consent to the processing"),
        ("de", "Consent to the processing"),
        (None, "Согласие на обработку"),
    ],
)
async def test_a_new_learner_is_spoken_to_in_their_telegram_language(gateway, tg, language_code, expected):
    user = TestUser.new("New", language_code=language_code)

    consent = await tg.wait_for_reply(await tg.send_command(user, "start"), timeout=WAIT)

    assert expected in consent.text


async def test_switching_to_english_changes_every_next_text(gateway, tg, resources):
    rita = TestUser.new("Rita", language_code="ru")
    await register(tg, rita, full_name="Рита Лебедева")

    menu = await tg.wait_for_reply(await tg.send_text(rita, "🌐 Язык / Language"), has("Выберите язык"), timeout=WAIT)
    assert [b["text"] for b in menu.inline_buttons()] == ["🇷🇺 Русский", "🇬🇧 English"]
    press = await tg.press_button_by_text(rita, menu, "🇬🇧 English")
    await tg.wait_for_callback_answer(press, timeout=WAIT)

    changed = await tg.message(rita.id, menu.message_id)
    assert "The bot now speaks English" in changed.text
    new_menu = await tg.wait_for_message(rita.id, has("Main menu"), after=menu.message_id, timeout=WAIT)
    assert [b["text"] for b in new_menu.keyboard_buttons()] == EN_MENU
    card = await tg.wait_for_reply(await tg.send_command(rita, "profile"), has("Name:"), timeout=WAIT)
    assert "Name: Рита Лебедева" in card.text
    again = await tg.wait_for_reply(await tg.send_command(rita, "start"), has("Welcome back"), timeout=WAIT)
    assert "Welcome back, Рита" in again.text

    learner = await learner_in_users(gateway, rita.id)
    assert learner["locale"] == "en"
    async with resources.sessionmaker() as session:
        projection = (await session.execute(select(Learner).where(Learner.telegram_id == rita.id))).scalar_one()
    assert projection.locale == "en"  # notifications follow the new language too

    back = await tg.wait_for_reply(
        await tg.send_text(rita, "🌐 Language / Язык"), has("Choose your language"), timeout=WAIT
    )
    await tg.press_button_by_text(rita, back, "🇷🇺 Русский")
    await tg.wait_for_message(rita.id, has("Главное меню"), after=back.message_id, timeout=WAIT)
    assert (await learner_in_users(gateway, rita.id))["locale"] == "ru"
