"""Community chats for the learner's city and the professions of their courses."""

import pytest

from .learning_support import (
    catalog_editor,
    has_text,
    new_category,
    publish_course,
    register,
    unique,
    wait_until_progress_knows,
)

pytestmark = pytest.mark.integration


async def add_community(gateway, **fields) -> dict:
    community: dict = await catalog_editor().post(
        "/internal/communities",
        json={"telegram_link": f"https://t.me/{unique('chat').replace('-', '_')}", **fields},
        idempotency_key=unique("community"),
    )
    return community


async def test_a_learner_sees_the_chats_of_their_city_and_of_their_courses_professions(gateway, tg):
    city, other_city = unique("Тестоград"), unique("Другой")
    studied, not_studied = await new_category(gateway), await new_category(gateway)
    course = await publish_course(gateway, category=studied)
    await wait_until_progress_knows(gateway, course)
    mine = await add_community(gateway, title=f"Мастера {city}", type="city", city=city, description="Встречи")
    other = await add_community(gateway, title=f"Мастера {other_city}", type="city", city=other_city)
    profession = await add_community(gateway, title=f"Профи {studied}", type="profession", category=studied)
    other_profession = await add_community(
        gateway, title=f"Профи {not_studied}", type="profession", category=not_studied
    )
    user, learner = await register(gateway, tg, city=city)
    await gateway.clients.progress.post(
        f"/internal/learners/{learner['id']}/enrolments", json={"course_id": course["id"]}
    )

    sent = await tg.send_text(user, "👥 Сообщества")
    reply = await tg.wait_for_reply(sent, has_text("Сообщества"))

    links = {b["text"]: b.get("url") for b in reply.inline_buttons()}
    assert links[f"🏙 Мастера {city}"] == mine["telegram_link"]
    assert links[f"💼 Профи {studied}"] == profession["telegram_link"]
    assert other["title"] not in reply.text
    assert other_profession["title"] not in reply.text  # a profession the learner does not study
    assert reply.text.index(mine["title"]) < reply.text.index(profession["title"])  # the city first
    assert "Встречи" in reply.text


async def test_before_a_first_course_every_professions_chat_is_offered(gateway, tg):
    category = await new_category(gateway)
    profession = await add_community(gateway, title=f"Профи {category}", type="profession", category=category)
    user, _ = await register(gateway, tg, city=unique("Безчата"))

    sent = await tg.send_command(user, "communities")
    reply = await tg.wait_for_reply(sent, has_text("Сообщества"))

    assert {b["text"]: b.get("url") for b in reply.inline_buttons()}[f"💼 Профи {category}"] == profession[
        "telegram_link"
    ]
