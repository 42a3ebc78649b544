"""Issue 12: a learner turns announcements off with the button under one (and on again), in their language,
and the next broadcast passes them by."""

from __future__ import annotations

import pytest
from academy_gateway_bot.models import Learner

from .support import create, delivery_for, drain, recipients, start, unique_city

pytestmark = pytest.mark.integration


async def _announcements_enabled(resources, user_id: int) -> bool:
    async with resources.sessionmaker() as session:
        learner = await session.get(Learner, user_id, populate_existing=True)
        assert learner is not None
        return learner.announcements_enabled


@pytest.mark.parametrize(
    ("locale", "answer"), [("ru", "Больше не будем присылать объявления"), ("en", "We will not send")]
)
async def test_the_button_under_an_announcement_turns_them_off_and_on(
    broadcaster, make_learner, resources, gateway, tg, locale, answer
):
    city = unique_city()
    learner = await make_learner(city, locale=locale)
    first = await create(broadcaster, segment={"kind": "city", "value": city})
    await start(broadcaster, first["id"])
    await drain(delivery_for(resources, gateway), first["id"])
    # (The registration brings the learner other messages too: the welcome points.)
    announcement = await tg.wait_for_message(learner.chat_id, lambda m: "Новый курс" in (m.text or ""))

    press = await tg.press_button(learner.chat_id, announcement.message_id, "ann:off")
    await tg.wait_for_callback_answer(press)
    reply = await tg.wait_for_message(learner.chat_id, lambda m: answer in (m.text or ""))
    assert not await _announcements_enabled(resources, learner.user_id)

    second = await create(broadcaster, segment={"kind": "city", "value": city})
    await start(broadcaster, second["id"])
    await drain(delivery_for(resources, gateway), second["id"])
    assert (await recipients(resources, second["id"]))[learner.user_id].status == "skipped"

    again = await tg.press_button(learner.chat_id, reply.message_id, "ann:on")
    await tg.wait_for_callback_answer(again)
    await tg.wait_for_message(learner.chat_id, lambda m: m.message_id > reply.message_id)
    assert await _announcements_enabled(resources, learner.user_id)
