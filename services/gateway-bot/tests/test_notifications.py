"""Notifications from events: course completed (with the next step), achievements, points, inactivity reminders."""

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime

import pytest
from academy_contracts.gamification import AchievementUnlockedV1
from academy_contracts.progress import LearnerInactiveV1
from academy_gateway_bot.models import NotificationLog, messaging
from academy_runtime.db import transaction
from sqlalchemy import select

from .learning_support import (
    has_text,
    new_category,
    publish_course,
    register,
    unique,
    wait_for_edit,
    wait_until_progress_knows,
)

pytestmark = pytest.mark.integration

# The sender keeps to Telegram's one message a second per chat, and several events land at once.
NOTIFIED_WITHIN_S = 30


async def publish_as(services, service: str, data, event_id: uuid.UUID | None = None) -> None:
    """An event as `service` publishes it: through its outbox and relay onto the run's exchange."""
    running = services[service]
    async with transaction(running.resources.sessionmaker) as session:
        await running.definition.messaging.publish(session, data, event_id=event_id)


async def wait_until_handled(resources, event_ids: list[uuid.UUID], timeout: float = 20.0) -> None:
    """Until the gateway's notifications consumer has taken every one of these events (its inbox)."""
    wanted = {str(event_id) for event_id in event_ids}
    deadline = time.monotonic() + timeout
    while True:
        async with resources.sessionmaker() as session:
            rows = await session.execute(
                select(messaging.inbox.c.event_id).where(messaging.inbox.c.event_id.in_(wanted))
            )
            if {str(row[0]) for row in rows} == wanted:
                return
        assert time.monotonic() < deadline, "the gateway never handled the events"
        await asyncio.sleep(0.1)


async def notified_kinds(resources, user_id: int, *, until: set[str], timeout: float = NOTIFIED_WITHIN_S) -> set[str]:
    """The kinds of notification the learner was sent, once `until` are among them."""
    deadline = time.monotonic() + timeout
    while True:
        async with resources.sessionmaker() as session:
            query = select(NotificationLog.kind).where(NotificationLog.user_id == user_id)
            kinds = set((await session.execute(query)).scalars().all())
        if until <= kinds:
            return kinds
        assert time.monotonic() < deadline, f"never notified of {until - kinds}; notified: {kinds}"
        await asyncio.sleep(0.1)


async def test_completing_a_course_brings_congratulations_the_next_step_achievements_and_points(gateway, tg, resources):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=2)
    await publish_course(gateway, category=category)  # something to suggest next, whatever the top course is
    await wait_until_progress_knows(gateway, course)
    user, learner = await register(gateway, tg)
    progress = gateway.clients.progress
    await progress.post(f"/internal/learners/{learner['id']}/enrolments", json={"course_id": course["id"]})
    for lesson in course["lessons"]:
        await progress.post(f"/internal/learners/{learner['id']}/lessons/{lesson['id']}/complete", json={})

    congratulation = await tg.wait_for_message(
        user.id, has_text(f"Поздравляем! Вы прошли курс «{course['title']}»"), timeout=NOTIFIED_WITHIN_S
    )
    first_course = await tg.wait_for_message(
        user.id, has_text("Новое достижение: Первый курс завершён"), timeout=NOTIFIED_WITHIN_S
    )
    await tg.wait_for_message(user.id, has_text("Новое достижение: Первый шаг"), timeout=NOTIFIED_WITHIN_S)
    await tg.wait_for_message(user.id, has_text("⭐ +"), timeout=NOTIFIED_WITHIN_S)  # course / achievement points

    buttons = {b["text"] for b in congratulation.inline_buttons()}
    assert "📄 Справка об обучении (PDF)" in buttons
    suggestion = next((label for label in buttons if label.startswith("📚 ")), None)
    assert suggestion is not None  # the course of the month or another course: something to go on with
    assert "🏆 Мои достижения" in {b["text"] for b in first_course.inline_buttons()}

    # Opening the suggestion keeps the congratulation and sends the course card below it.
    await tg.press_button_by_text(user, congratulation, suggestion)
    card = await tg.wait_for_message(user.id, has_text("Цена:"), after=congratulation.message_id)
    assert suggestion.removeprefix("📚 ").rstrip("…") in card.text
    assert (await tg.message(user.id, congratulation.message_id)).text == congratulation.text

    await tg.press_button_by_text(user, first_course, "🏆 Мои достижения")
    achievements = await tg.wait_for_message(user.id, has_text("Получено ("), after=first_course.message_id)
    assert "Первый курс завершён" in achievements.text

    # Points for the course are announced; points for each lesson are not (no message per lesson).
    kinds = await notified_kinds(resources, learner["id"], until={"points.course_completed"})
    assert f"course_completed:{course['id']}" in kinds
    assert "points.lesson_completed" not in kinds

    if os.environ.get("TEST_S3_ENDPOINT"):
        await tg.press_button_by_text(user, congratulation, "📄 Справка об обучении (PDF)")
        document = await tg.wait_for_message(
            user.id, lambda m: m.document is not None, after=congratulation.message_id, timeout=20
        )
        assert document.document["file_name"] == "transcript.pdf"


async def test_the_same_achievement_told_by_two_events_is_announced_once(gateway, tg, services, resources):
    user, learner = await register(gateway, tg)
    await tg.wait_for_message(user.id, has_text("за регистрацию"), timeout=NOTIFIED_WITHIN_S)
    achievement = AchievementUnlockedV1(
        user_id=learner["id"],
        achievement_id=999_001,
        code="test_once",
        title=unique("Дважды"),
        points=0,
        unlocked_at=datetime.now(UTC),
    )
    event_ids = [uuid.uuid4(), uuid.uuid4()]

    for event_id in event_ids:
        await publish_as(services, "gamification", achievement, event_id=event_id)
    await wait_until_handled(resources, event_ids)

    told = [m for m in await tg.messages(user.id) if achievement.title in (m.text or "")]
    assert len(told) == 1


async def test_an_inactive_learner_is_reminded_can_continue_and_can_turn_reminders_off(gateway, tg, services):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=3, free_lessons=())
    await wait_until_progress_knows(gateway, course)
    user, learner = await register(gateway, tg)
    progress = gateway.clients.progress
    await progress.post(f"/internal/learners/{learner['id']}/enrolments", json={"course_id": course["id"]})
    await progress.post(f"/internal/learners/{learner['id']}/lessons/{course['lessons'][0]['id']}/complete", json={})

    inactive = LearnerInactiveV1(
        user_id=learner["id"],
        last_activity_at=datetime.now(UTC),
        inactive_days=8,
        period_start=datetime.now(UTC).date(),
        detected_at=datetime.now(UTC),
    )
    await publish_as(services, "progress", inactive)
    reminder = await tg.wait_for_message(user.id, has_text("Вы не занимались уже 8 дней"), timeout=NOTIFIED_WITHIN_S)

    assert course["title"] in reminder.text
    assert "Осталось уроков: 2" in reminder.text
    labels = [b["text"] for b in reminder.inline_buttons()]
    assert "🔕 Не напоминать" in labels
    continue_label = next(label for label in labels if label.startswith("▶️ Продолжить: "))
    assert "Урок 2" in continue_label

    await tg.press_button_by_text(user, reminder, continue_label)
    lesson = await tg.wait_for_message(user.id, has_text("Урок 2 из 3"), after=reminder.message_id)
    assert "✅ Урок пройден" in {b["text"] for b in lesson.inline_buttons()}

    await tg.press_button_by_text(user, reminder, "🔕 Не напоминать")
    off = await tg.wait_for_message(user.id, has_text("Напоминания отключены"), after=reminder.message_id)
    preferences = await progress.get(f"/internal/learners/{learner['id']}/preferences")
    assert preferences["reminders_opt_out"] is True

    await tg.press_button_by_text(user, off, "🔔 Включить напоминания")
    await wait_for_edit(tg, off, has_text("Напоминания снова включены"))
    preferences = await progress.get(f"/internal/learners/{learner['id']}/preferences")
    assert preferences["reminders_opt_out"] is False
