"""Issue 9, part 4: two forged `progress` events gave a learner 30 points and an achievement.

Against the real broker with the run's per-service RabbitMQ users: whoever is not the progress service
cannot make gamification award anything for a lesson, however the events reach its queue.
"""

from datetime import UTC, datetime

import aio_pika
import aiormq.exceptions
import pytest
from academy_contracts import build_event
from academy_runtime.bus import bus_user, event_message
from academy_runtime.consumer import ORIGINAL_KEY_HEADER, ORIGINAL_USER_HEADER
from academy_runtime.dlq import list_dead_letters

pytestmark = pytest.mark.integration

PROGRESS = "learning-progress"
DAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def forged_lessons(gamification, user_id: int) -> list[dict]:
    """Two lesson completions as the attack sent them: valid events, with progress's source and type."""
    return [
        build_event(gamification.lesson(user_id, lesson, at=DAY)).model_dump(mode="json", exclude_none=True)
        for lesson in (9001, 9002)
    ]


async def dead_letter_reasons(resources, ids: set[str]) -> dict[str, str]:
    letters = await list_dead_letters(resources.settings, PROGRESS, limit=1000)
    return {letter.message_id: letter.reason for letter in letters if letter.message_id in ids}


async def test_forged_progress_events_give_no_points_and_no_achievement(gamification, platform, resources):
    platform.require_bus_users()
    learner, marker = 90, 91
    through_exchange = forged_lessons(gamification, learner)
    into_queue = [
        build_event(gamification.lesson(learner, lesson, at=DAY)).model_dump(mode="json", exclude_none=True)
        for lesson in (9003, 9004)
    ]

    # 1. The attack as it was made: a client allowed any routing key (here the broker's administrator)
    #    publishes progress's events on the exchange. Before issue 9 this was 30 points and first_lesson.
    connection = await aio_pika.connect(platform.infra.rabbitmq_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(platform.events_exchange, ensure=False)
        for payload in through_exchange:
            await exchange.publish(event_message(payload), routing_key=payload["type"])
    finally:
        await connection.close()

    # 2. Another service (users) publishing progress's routing key: the broker refuses (topic permission).
    with pytest.raises(aiormq.exceptions.ChannelAccessRefused, match="access to topic"):
        await gamification.exchange.publish(through_exchange[0], as_service="users")

    # 3. The same service going round the exchange, straight into gamification's queue, claiming in the
    #    headers to come from progress: its own user_id gives it away.
    users_user = bus_user(platform.bus_user_prefix, "users")
    connection = await aio_pika.connect(platform.bus_url("users"))
    try:
        channel = await connection.channel(publisher_confirms=True)
        for payload in into_queue:
            message = event_message(
                payload,
                headers={
                    ORIGINAL_KEY_HEADER: payload["type"],
                    ORIGINAL_USER_HEADER: bus_user(platform.bus_user_prefix, "progress"),
                },
                user_id=users_user,
            )
            await channel.default_exchange.publish(message, routing_key=resources.settings.queue_name(PROGRESS))
    finally:
        await connection.close()

    # A genuine completion from progress's own user, after the forged ones: it counts, they do not.
    await gamification.publish_one_by_one(PROGRESS, [gamification.lesson(marker, 9005, at=DAY)])

    forged_ids = {p["id"] for p in (*through_exchange, *into_queue)}
    reasons = await gamification.eventually(
        lambda: dead_letter_reasons(resources, forged_ids), lambda found: len(found) == len(forged_ids)
    )
    assert reasons == dict.fromkeys(forged_ids, "unverified_publisher")
    assert await gamification.score(learner) is None
    assert await gamification.ledger(learner) == []
    assert await gamification.achievement_codes(learner) == []
    assert (await gamification.score(marker)).total_points == 20  # 10 for the lesson, 10 for first_lesson


async def test_a_forged_lesson_planted_in_the_dead_letter_queue_is_not_redriven(gamification, platform, resources):
    """The QA run: users plants a lesson completion in gamification's DLQ claiming progress as its first
    publisher, then gamification's operator re-drives the queue. It stays there, and gives no points."""
    from academy_runtime.dlq import redrive_dead_letters

    platform.require_bus_users()
    learner, marker = 92, 93
    users_user = bus_user(platform.bus_user_prefix, "users")
    payload = build_event(gamification.lesson(learner, 9006, at=DAY)).model_dump(mode="json", exclude_none=True)
    connection = await aio_pika.connect(platform.bus_url("users"))
    try:
        channel = await connection.channel(publisher_confirms=True)
        message = event_message(
            payload,
            headers={
                ORIGINAL_KEY_HEADER: payload["type"],
                ORIGINAL_USER_HEADER: bus_user(platform.bus_user_prefix, "progress"),
            },
            user_id=users_user,
        )
        await channel.default_exchange.publish(message, routing_key=resources.settings.queue_name(PROGRESS) + ".dlq")
    finally:
        await connection.close()

    report = await redrive_dead_letters(resources.settings, PROGRESS)  # the queue may hold other tests' letters
    await gamification.publish_one_by_one(PROGRESS, [gamification.lesson(marker, 9007, at=DAY)])
    assert (await gamification.score(marker)).total_points == 20
    assert await gamification.score(learner) is None  # before the fix: 20 points
    assert payload["id"] in await dead_letter_reasons(resources, {payload["id"]})
    assert (payload["id"], f"not dead-lettered by gamification: published by {users_user}") in report.left
