"""Buttons under any circumstances: a button pressed twice, a screen that can no longer be edited, a button
of a layout the bot no longer has. Every press is answered once, nothing is logged as an error, and the
learner gets the screen they asked for."""

import asyncio
import logging

import pytest
from academy_tg_emulator.client import ButtonPress

from .learning_support import has_text, new_category, publish_course, register, wait_for_edit

pytestmark = pytest.mark.integration


@pytest.fixture
def errors(caplog):
    """The gateway's and aiogram's error records (a traceback of a failed update is one)."""
    caplog.set_level(logging.WARNING)

    def logged() -> list[str]:
        return [
            f"{record.name}: {record.getMessage()}"
            for record in caplog.records
            if record.levelno >= logging.ERROR and record.name.startswith(("aiogram", "academy_gateway_bot"))
        ]

    return logged


async def answers(tg, *presses: ButtonPress) -> list:
    return [await tg.wait_for_callback_answer(press) for press in presses]


async def test_a_button_pressed_twice_quickly_is_answered_twice_and_logs_no_error(gateway, tg, errors):
    category = await new_category(gateway)
    title = f"Нейл-арт {category}"
    await publish_course(gateway, category=category)
    user, _ = await register(gateway, tg)

    sent = await tg.send_command(user, "catalog")
    catalog = await tg.wait_for_reply(sent, has_text("Каталог курсов"))
    data = catalog.button(title)["callback_data"]
    first = await tg.press_button(user, catalog.message_id, data)
    second = await tg.press_button(user, catalog.message_id, data)
    assert len(await answers(tg, first, second)) == 2
    await wait_for_edit(tg, catalog, has_text(title))

    sent = await tg.send_command(user, "achievements")
    screen = await tg.wait_for_reply(sent, has_text("Баллы и достижения"))
    data = screen.button("📊 Рейтинг")["callback_data"]
    first = await tg.press_button(user, screen.message_id, data)
    second = await tg.press_button(user, screen.message_id, data)
    assert len(await answers(tg, first, second)) == 2
    board = await wait_for_edit(tg, screen, has_text("Рейтинг · 🌍 Общий"))

    # The second press comes when the screen can no longer be edited (too old, say): the screen comes anew.
    data = board.button("⬅️ К достижениям")["callback_data"]
    first = await tg.press_button(user, board.message_id, data)
    await answers(tg, first)
    await wait_for_edit(tg, screen, has_text("Баллы и достижения"))
    await tg.fail_next(methods=["editMessageText"], error_code=400, description="Bad Request: message can't be edited")
    second = await tg.press_button(user, board.message_id, data, check_button=False)
    await answers(tg, second)
    anew = await tg.wait_for_message(user.chat_id, has_text("Баллы и достижения"), after=screen.message_id)
    assert anew.message_id != screen.message_id
    await asyncio.sleep(0.2)  # anything the presses logged has been logged
    assert errors() == []


@pytest.mark.parametrize("refusal", ["message to edit not found", "message can't be edited"])
async def test_a_screen_that_cannot_be_edited_comes_as_a_new_message(gateway, tg, errors, refusal):
    category = await new_category(gateway)
    title = f"Нейл-арт {category}"
    await publish_course(gateway, category=category)
    user, _ = await register(gateway, tg)
    sent = await tg.send_command(user, "catalog")
    catalog = await tg.wait_for_reply(sent, has_text("Каталог курсов"))

    await tg.fail_next(methods=["editMessageText"], error_code=400, description=f"Bad Request: {refusal}")
    press = await tg.press_button_by_text(user, catalog, title)

    await answers(tg, press)
    page = await tg.wait_for_message(user.chat_id, has_text("страница 1 из 1"), after=catalog.message_id)
    assert title in page.text
    await asyncio.sleep(0.2)
    assert errors() == []


async def test_a_button_of_a_layout_the_bot_no_longer_has_is_answered(gateway, tg, errors):
    user, _ = await register(gateway, tg)
    sent = await tg.send_command(user, "catalog")
    catalog = await tg.wait_for_reply(sent, has_text("Каталог курсов"))

    # A button sent by an older version of the bot: a feature since removed, and a catalog button of before
    # categories travelled as references (the slug in it is longer than a reference may be).
    removed = await tg.press_button(user, catalog.message_id, "quiz:7:start", check_button=False)
    old_layout = await tg.press_button(
        user, catalog.message_id, "cat:category:permanent-makeup-microblading:1", check_button=False
    )

    for answer in await answers(tg, removed, old_layout):
        assert "устарела" in (answer.text or "")
    assert errors() == []
