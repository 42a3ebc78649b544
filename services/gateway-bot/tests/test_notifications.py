"""Notifications from events: course completed (with the next step), achievements, points and levels (one
message per fact, with its reason, in the order of the facts, with nothing asked back), inactivity reminders."""

import asyncio
import os
import re
import secrets
import time
import uuid
from datetime import UTC, datetime

import aio_pika
import pytest
from academy_contracts import CloudEvent, EventData, build_event
from academy_contracts.gamification import AchievementUnlockedV2, Level, PointsAwardedFor, PointsAwardedV2
from academy_contracts.progress import CourseCompletedV2, LearnerInactiveV1
from academy_gateway_bot.models import Learner, NotificationLog, messaging
from academy_gateway_bot.notifications.consumers import _next_course, notifications
from academy_runtime.bus import bus_user, connection_user, event_message, service_of
from academy_runtime.consumer import ORIGINAL_KEY_HEADER, ORIGINAL_USER_HEADER, REDRIVEN_HEADER
from academy_runtime.db import transaction
from academy_runtime.errors import NotFoundError
from prometheus_client import REGISTRY
from sqlalchemy import select, update

from .learning_support import (
    has_text,
    learner_on_a_course,
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

BEGINNER = Level(level=1, title="Новичок", title_en="Beginner", min_points=0)
APPRENTICE = Level(level=2, title="Ученик", title_en="Apprentice", min_points=100)


async def publish_as(services, service: str, data, event_id: uuid.UUID | None = None) -> None:
    """An event as `service` publishes it: through its outbox and relay onto the run's exchange."""
    running = services[service]
    async with transaction(running.resources.sessionmaker) as session:
        await running.definition.messaging.publish(session, data, event_id=event_id)


async def wait_until_handled(resources, event_ids: list[uuid.UUID], timeout: float = 20.0) -> None:
    """Until the gateway's notifications consumer has taken every one of these events (its inbox) and what
    they queued has been sent (no notification on its way)."""
    wanted = {str(event_id) for event_id in event_ids}
    deadline = time.monotonic() + timeout
    while True:
        async with resources.sessionmaker() as session:
            rows = await session.execute(
                select(messaging.inbox.c.event_id).where(messaging.inbox.c.event_id.in_(wanted))
            )
            outgoing = await session.execute(
                select(NotificationLog.id).where(NotificationLog.status == "pending").limit(1)
            )
            if {str(row[0]) for row in rows} == wanted and outgoing.first() is None:
                return
        assert time.monotonic() < deadline, "the gateway never handled the events"
        await asyncio.sleep(0.1)


async def notified_kinds(resources, user_id: int, *, until: set[str], timeout: float = NOTIFIED_WITHIN_S) -> set[str]:
    """The kinds of notification the learner was sent (or whose sending ended otherwise: skipped, failed),
    once `until` are among them."""
    deadline = time.monotonic() + timeout
    while True:
        async with resources.sessionmaker() as session:
            query = select(NotificationLog.kind).where(
                NotificationLog.user_id == user_id, NotificationLog.status != "pending"
            )
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
    first_step = await tg.wait_for_message(user.id, has_text("Новое достижение: Первый шаг"), timeout=NOTIFIED_WITHIN_S)
    await tg.wait_for_message(user.id, has_text("за регистрацию"), timeout=NOTIFIED_WITHIN_S)
    course_points = await tg.wait_for_message(
        user.id, has_text(f"+100 баллов за курс «{course['title']}»"), timeout=NOTIFIED_WITHIN_S
    )

    # One message per fact, with its reason; a new level is announced with the points that reached it:
    # 50 (welcome) + 10 (lesson) + 10 (first step) + 10 (lesson) + 100 (course) = 180, level 2 from 100.
    # The last lesson's and the course's points come from two events gamification may take in either
    # order, so the course's message counts the last lesson's 10 or not yet: the total as of that award.
    assert re.search(r"Всего баллов: (170|180)\.", course_points.text), course_points.text
    assert "🎖 Новый уровень: 2 — «Ученик»!" in course_points.text
    assert "+10 баллов за достижение «Первый шаг». Всего баллов: 70" in first_step.text
    assert "Завершите первый урок." in first_step.text
    assert "+50 баллов за достижение «Первый курс завершён». Всего баллов: 230" in first_course.text
    # An achievement's coins (billing credits them at once) come after the achievement's own message.
    await tg.wait_for_message(user.id, has_text("Награда за достижение: +50 монет"), timeout=NOTIFIED_WITHIN_S)
    await tg.wait_for_message(user.id, has_text("Награда за достижение: +10 монет"), timeout=NOTIFIED_WITHIN_S)
    # What the chat shows, line by line (notifications due together arrive as one message, in their order).
    said = await told_paragraphs(tg, user.id)
    assert sum("баллов за достижение" in line for line in said) == 2  # in the achievements' own messages only
    assert sum("Новый уровень" in line for line in said) == 1
    assert sum("Награда за достижение" in line for line in said) == 2
    # In the order of the facts: gamification's chain (welcome, first lesson, course), and the course's
    # points after the congratulation on it; each achievement's coins after it.
    chain = ["за регистрацию", "Новое достижение: Первый шаг", f"+100 баллов за курс «{course['title']}»"]
    chain.append("Новое достижение: Первый курс завершён")
    assert [_index(said, text) for text in chain] == sorted(_index(said, text) for text in chain)
    assert _index(said, "Вы прошли курс") < _index(said, "баллов за курс")
    assert _index(said, "Первый курс завершён!") < _index(said, "Награда за достижение: +50 монет")
    assert _index(said, "Первый шаг!") < _index(said, "Награда за достижение: +10 монет")

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

    # Points for the welcome and the course are announced; points for each lesson are not (no message per
    # lesson), nor an achievement's on their own.
    kinds = await notified_kinds(resources, learner["id"], until={f"course_completed:{course['id']}"})
    assert len([kind for kind in kinds if kind.startswith("points:")]) == 2

    if os.environ.get("TEST_S3_ENDPOINT"):
        await tg.press_button_by_text(user, congratulation, "📄 Справка об обучении (PDF)")
        document = await tg.wait_for_message(
            user.id, lambda m: m.document is not None, after=congratulation.message_id, timeout=20
        )
        assert document.document["file_name"] == "transcript.pdf"


async def test_the_same_achievement_told_by_two_events_is_announced_once(gateway, tg, services, resources):
    user, learner = await register(gateway, tg)
    await tg.wait_for_message(user.id, has_text("за регистрацию"), timeout=NOTIFIED_WITHIN_S)
    achievement = AchievementUnlockedV2(
        user_id=learner["id"],
        achievement_id=999_001,
        code="test_once",
        title=unique("Дважды"),
        points=0,
        total_points=50,
        level_before=BEGINNER,
        level_after=BEGINNER,
        unlocked_at=datetime.now(UTC),
    )
    event_ids = [uuid.uuid4(), uuid.uuid4()]

    for event_id in event_ids:
        await publish_as(services, "gamification", achievement, event_id=event_id)
    await wait_until_handled(resources, event_ids)

    told = [m for m in await tg.messages(user.id) if achievement.title in (m.text or "")]
    assert len(told) == 1


async def test_an_inactive_learner_is_reminded_can_continue_and_can_turn_reminders_off(gateway, tg, services):
    user, learner, course = await learner_on_a_course(gateway, tg, lessons=3)

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
    preferences = await gateway.clients.progress.get(f"/internal/learners/{learner['id']}/preferences")
    assert preferences["reminders_opt_out"] is True

    await tg.press_button_by_text(user, off, "🔔 Включить напоминания")
    await wait_for_edit(tg, off, has_text("Напоминания снова включены"))
    preferences = await gateway.clients.progress.get(f"/internal/learners/{learner['id']}/preferences")
    assert preferences["reminders_opt_out"] is False


# -- order, reasons, levels, no calls back (issue 8, case 13) --------------------------------------------


async def deliver_to_gateway(resources, *events: EventData | CloudEvent) -> list[str]:
    """Events put into the gateway's notifications queue in this order, on the real broker: what the
    exchange routes there, without the other services acting on them too. Returns their ids."""
    queue = resources.settings.queue_name("notifications")
    settings = resources.settings
    ids = []
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for event in events:
            envelope = event if isinstance(event, CloudEvent) else build_event(event)
            payload = envelope.model_dump(mode="json", exclude_none=True)
            # As the gateway's own re-drive puts a message back (only the gateway's user can publish with its
            # user_id): the producer's user and routing key in the headers, which the consumer then checks.
            origin = {
                ORIGINAL_KEY_HEADER: payload["type"],
                ORIGINAL_USER_HEADER: bus_user(settings.bus_user_prefix, service_of(payload["type"])),
                REDRIVEN_HEADER: True,
            }
            message = event_message(payload, headers=origin, user_id=connection_user(settings.rabbitmq_url))
            await channel.default_exchange.publish(message, routing_key=queue)
            ids.append(payload["id"])
    return ids


def requests_to(service: str, route: str | None = None) -> float:
    """HTTP requests the in-process `service` has answered so far (on `route`, a template), by its metrics."""
    total = 0.0
    for metric in REGISTRY.collect():
        if metric.name != "academy_http_requests":
            continue
        for sample in metric.samples:
            if not sample.name.endswith("_total") or sample.labels["service"] != service:
                continue
            if route is None or sample.labels["route"] == route:
                total += sample.value
    return total


def course_points(user_id: int, award_id: int, *, course_id: int, title: str, points: int, total: int):
    return PointsAwardedV2(
        user_id=user_id,
        award_id=award_id,
        points=points,
        reason="course_completed",
        awarded_for=PointsAwardedFor(kind="course", id=course_id, title=title),
        total_points=total,
        level_before=BEGINNER,
        level_after=BEGINNER if total < APPRENTICE.min_points else APPRENTICE,
        awarded_at=datetime.now(UTC),
    )


def completed(user_id: int, course_id: int, title: str) -> CourseCompletedV2:
    return CourseCompletedV2(
        user_id=user_id, course_id=course_id, course_title=title, category="t-none", completed_at=datetime.now(UTC)
    )


async def test_facts_arriving_in_reverse_are_told_in_the_order_they_happened(gateway, tg, resources):
    user, learner = await register(gateway, tg)
    await tg.wait_for_message(user.id, has_text("за регистрацию"), timeout=NOTIFIED_WITHIN_S)
    user_id, course_id, award = learner["id"], 900_000 + secrets.randbelow(90_000), 10**9 + secrets.randbelow(10**8)
    title, achievement_title = unique("Курс"), unique("Упорство")
    # What gamification publishes for a completed course: its points (37: 50 + 37 = 87), the achievement's
    # points (13, reaching level 2 at 100) and the achievement, each following the one before.
    points = course_points(user_id, award, course_id=course_id, title=title, points=37, total=87)
    its_points = PointsAwardedV2(
        user_id=user_id,
        award_id=award + 1,
        points=13,
        reason="achievement",
        awarded_for=PointsAwardedFor(kind="achievement", id=999_002, title=achievement_title),
        total_points=100,
        level_before=BEGINNER,
        level_after=APPRENTICE,
        follows_event_id="set below",
        awarded_at=datetime.now(UTC),
    )
    achievement = AchievementUnlockedV2(
        user_id=user_id,
        achievement_id=999_002,
        code="test_order",
        title=achievement_title,
        description="Пройдите курс до конца.",
        points=13,
        award_id=award + 1,
        total_points=100,
        level_before=BEGINNER,
        level_after=APPRENTICE,
        follows_event_id="set below",
        unlocked_at=datetime.now(UTC),
    )
    points_id, its_points_id = str(uuid.uuid4()), str(uuid.uuid4())
    chain = [
        build_event(points, event_id=points_id),
        build_event(its_points.model_copy(update={"follows_event_id": points_id}), event_id=its_points_id),
        build_event(achievement.model_copy(update={"follows_event_id": its_points_id})),
    ]

    # Arrival in reverse: the achievement, its points, the course's points, then the course completed.
    await deliver_to_gateway(resources, *reversed(chain), completed(user_id, course_id, title))

    await tg.wait_for_message(user.id, has_text(f"Новое достижение: {achievement_title}"), timeout=60)
    # What the chat shows, paragraph by paragraph (notifications due together arrive as one message).
    told = await told_paragraphs(tg, user.id)
    congratulation = _index(told, f"Вы прошли курс «{title}»")
    for_course = _index(told, f"+37 баллов за курс «{title}». Всего баллов: 87.")
    for_achievement = _index(told, f"Новое достижение: {achievement_title}")
    assert congratulation < for_course < for_achievement
    # The achievement's points and the level they reached are in its message; its points_awarded says nothing.
    its_points = _index(told, f"+13 баллов за достижение «{achievement_title}». Всего баллов: 100.")
    assert for_achievement < its_points < _index(told, "🎖 Новый уровень: 2 — «Ученик»!")
    assert "Новый уровень" not in told[for_course]
    assert sum(achievement_title in paragraph for paragraph in told) == 2  # its title, and its points' line


async def test_notifications_waiting_for_their_turn_hold_up_no_other_learners(gateway, tg, resources):
    """More notifications of one learner waiting for what they follow than the pool has connections:
    another learner is still told at once, while every one of them still waits (issue 11: they waited
    inside their transaction, each holding a connection, and everything else waited for one until their
    waits gave up)."""
    user, learner = await register(gateway, tg)
    other, other_learner = await register(gateway, tg)
    for chat in (user.id, other.id):
        await tg.wait_for_message(chat, has_text("за регистрацию"), timeout=NOTIFIED_WITHIN_S)
    user_id, category = learner["id"], await new_category(gateway)
    async with transaction(resources.sessionmaker) as session:  # told as `skipped`: nothing to send at 1/s
        await session.execute(update(Learner).where(Learner.user_id == user_id).values(notifications_enabled=False))
    settings = resources.settings
    count = settings.db_pool_size + settings.db_max_overflow + 4
    assert count <= (notifications.prefetch or settings.consumer_prefetch)  # all in the consumer's hands at once
    first_course, award = 900_000 + secrets.randbelow(90_000), 10**9 + secrets.randbelow(10**8)
    courses = [(first_course + i, unique("Курс")) for i in range(count)]
    waiting = {f"points:{award + i}" for i in range(count)}
    retried = _consumed("retried", PointsAwardedV2.event_type)
    # Points for courses whose congratulations have not come: each waits for its own.
    await deliver_to_gateway(
        resources,
        *(
            course_points(user_id, award + i, course_id=course, title=title, points=1, total=50 + i)
            for i, (course, title) in enumerate(courses)
        ),
    )
    await _until_taken_from_the_queue(resources)

    title = unique("Курс")
    done = completed(other_learner["id"], first_course + count, title).model_copy(update={"category": category})
    await deliver_to_gateway(resources, done)
    await tg.wait_for_message(other.id, has_text(f"Вы прошли курс «{title}»"), timeout=NOTIFIED_WITHIN_S)
    assert _consumed("retried", PointsAwardedV2.event_type) == retried  # none had given up waiting yet
    assert not waiting & set(await _logged_kinds(resources, user_id, "points:%"))

    await deliver_to_gateway(
        resources,
        *(completed(user_id, course, title).model_copy(update={"category": category}) for course, title in courses),
    )
    await notified_kinds(resources, user_id, until=waiting)


async def told_paragraphs(tg, telegram_id: int) -> list[str]:
    """The bot's messages to the chat, in order, split into paragraphs (lines of a notification included)."""
    return [
        line
        for m in await tg.messages(telegram_id)
        if m.from_bot
        for line in (m.text or "").split("\n")
        if line.strip()
    ]


def _index(paragraphs: list[str], text: str) -> int:
    return next(i for i, paragraph in enumerate(paragraphs) if text in paragraph)


def _consumed(outcome: str, event_type: str) -> float:
    value = REGISTRY.get_sample_value(
        "academy_events_consumed_total",
        {"service": "gateway-bot", "consumer": "notifications", "type": event_type, "outcome": outcome},
    )
    return value or 0.0


async def _until_taken_from_the_queue(resources) -> None:
    """Until the notifications queue has no message ready: every one is in the consumer's hands."""
    connection = await aio_pika.connect(resources.settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        for _ in range(200):
            queue = await channel.declare_queue(resources.settings.queue_name("notifications"), passive=True)
            if not queue.declaration_result.message_count:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the notifications queue still holds messages ready")


async def _logged_kinds(resources, user_id: int, pattern: str) -> list[str]:
    async with resources.sessionmaker() as session:
        query = select(NotificationLog.kind).where(
            NotificationLog.user_id == user_id, NotificationLog.kind.like(pattern)
        )
        return list((await session.execute(query)).scalars().all())


async def test_a_course_of_a_category_the_catalog_does_not_know_is_congratulated_without_a_suggestion(gateway):
    """The suggestion is looked for in the course's category when the learner has the course of the month
    (or there is none); a category the catalog does not know (deleted since) means no suggestion, not a
    congratulation retried until it is dead-lettered."""
    try:
        enrolled = {(await gateway.clients.catalog.get("/internal/courses/top"))["id"]}
    except NotFoundError:
        enrolled = set()
    event = completed(1, 1, "Курс").model_copy(update={"category": f"t-gone-{secrets.token_hex(4)}"})

    assert await _next_course(gateway.clients, event, enrolled) is None


async def test_points_for_a_lesson_are_told_only_when_they_reach_a_new_level(gateway, tg, resources):
    user, learner = await register(gateway, tg)
    welcome = await tg.wait_for_message(user.id, has_text("за регистрацию"), timeout=NOTIFIED_WITHIN_S)
    user_id, award = learner["id"], 10**9 + secrets.randbelow(10**8)

    def lesson_points(award_id: int, points: int, total: int, after: Level) -> PointsAwardedV2:
        return PointsAwardedV2(
            user_id=user_id,
            award_id=award_id,
            points=points,
            reason="lesson_completed",
            awarded_for=PointsAwardedFor(kind="lesson", id=award_id),
            total_points=total,
            level_before=BEGINNER,
            level_after=after,
            awarded_at=datetime.now(UTC),
        )

    first = await deliver_to_gateway(resources, lesson_points(award, 10, 60, BEGINNER))
    await wait_until_handled(resources, [uuid.UUID(first[0])])
    reaching = lesson_points(award + 1, 40, 100, APPRENTICE).model_copy(update={"follows_event_id": first[0]})
    second = await deliver_to_gateway(resources, reaching)
    await wait_until_handled(resources, [uuid.UUID(second[0])])

    after_welcome = await tg.messages(user.id, after=welcome.message_id)
    assert [m.text for m in after_welcome] == [
        "⭐ +40 баллов за урок. Всего баллов: 100.\n🎖 Новый уровень: 2 — «Ученик»!"
    ]


async def test_an_english_learner_hears_an_achievement_and_a_course_without_the_bot_calling_back(
    gateway, tg, resources
):
    user, learner = await register(gateway, tg, language_code="en")
    await tg.wait_for_message(user.id, has_text("for joining"), timeout=NOTIFIED_WITHIN_S)
    user_id, course_id = learner["id"], 900_000 + secrets.randbelow(90_000)
    title, title_en = unique("Упорство"), unique("Persistence")
    gamification_calls = requests_to("gamification")
    course_calls = requests_to("catalog", "/internal/courses/{course_id}")

    await deliver_to_gateway(
        resources,
        AchievementUnlockedV2(
            user_id=user_id,
            achievement_id=999_003,
            code="test_english",
            title=title,
            title_en=title_en,
            description="Пройдите курс до конца.",
            description_en="Finish a course.",
            points=20,
            award_id=10**9 + secrets.randbelow(10**8),
            total_points=70,
            level_before=BEGINNER,
            level_after=BEGINNER,
            unlocked_at=datetime.now(UTC),
        ),
        completed(user_id, course_id, "Hardware manicure"),
    )

    told = await tg.wait_for_message(user.id, has_text(f"New achievement: {title_en}"), timeout=NOTIFIED_WITHIN_S)
    assert "Finish a course." in told.text
    assert f"+20 points for the achievement “{title_en}”. Total points: 70." in told.text
    assert title not in told.text
    await tg.wait_for_message(user.id, has_text("You completed “Hardware manicure”"), timeout=NOTIFIED_WITHIN_S)
    # Everything was in the events: gamification was not asked, nor the catalog for the course's title.
    assert requests_to("gamification") == gamification_calls
    assert requests_to("catalog", "/internal/courses/{course_id}") == course_calls
