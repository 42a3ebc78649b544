"""The learner directory consumer: users' v3 registrations and profile changes (revision rule), and
`users.user_erased.v2`, which makes the gateway forget the learner — their rows, their chat's conversation
and every Redis key of theirs — idempotently and in any order with the registration."""

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from academy_contracts.envelope import CloudEvent
from academy_contracts.gamification import Level, PointsAwardedFor, PointsAwardedV2
from academy_contracts.progress import LearnerInactiveV1
from academy_contracts.users import ProfileUpdatedV3, UserErasedV2, UserRegisteredV3
from academy_gateway_bot import redis_keys
from academy_gateway_bot.erasure import forget_erased_learner
from academy_gateway_bot.learners import LearnerRepository
from academy_gateway_bot.models import Learner, NotificationLog, UserState
from academy_gateway_bot.notifications.consumers import deliver
from academy_runtime.consumer import EventContext
from academy_runtime.db import transaction
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import func, select

from .erasure_support import (
    gateway_rows,
    publish_as,
    redis_keys_naming,
    redis_values_naming,
    tombstone,
    wait_until_handled,
)
from .learning_support import register

pytestmark = pytest.mark.integration


def unknown_user_id() -> int:
    """A user id users never gave (far above any the run creates)."""
    return 1_500_000_000 + secrets.randbelow(500_000_000)


def registered(user_id: int, telegram_id: int, *, locale: str = "ru", revision: int = 1) -> UserRegisteredV3:
    return UserRegisteredV3(
        user_id=user_id,
        telegram_id=telegram_id,
        display_name="Анна С.",
        locale=locale,
        city="Новосибирск",
        time_zone="Asia/Novosibirsk",
        time_zone_source="city",
        consent_version="2026-11-01",
        revision=revision,
        registered_at=datetime.now(UTC),
    )


def profile_updated(user_id: int, telegram_id: int, *, locale: str, revision: int) -> ProfileUpdatedV3:
    return ProfileUpdatedV3(
        user_id=user_id,
        telegram_id=telegram_id,
        changed_fields=("locale",),
        display_name="Анна С.",
        city="Новосибирск",
        locale=locale,
        time_zone="Asia/Novosibirsk",
        time_zone_source="city",
        revision=revision,
        updated_at=datetime.now(UTC),
    )


async def learner_row(resources, user_id: int) -> Learner | None:
    async with resources.sessionmaker() as session:
        return await session.scalar(select(Learner).where(Learner.user_id == user_id))


async def test_v3_registrations_and_profile_changes_fill_the_projection_by_revision(gateway, services, resources):
    user_id, telegram_id = unknown_user_id(), 10**9 + secrets.randbelow(10**9)
    consumer = "learner-directory"

    await wait_until_handled(resources, await publish_as(services, "users", registered(user_id, telegram_id)), consumer)
    row = await learner_row(resources, user_id)
    assert row is not None
    assert (row.telegram_id, row.locale, row.time_zone, row.revision) == (telegram_id, "ru", "Asia/Novosibirsk", 1)

    changed = profile_updated(user_id, telegram_id, locale="en", revision=3)
    await wait_until_handled(resources, await publish_as(services, "users", changed), consumer)
    older = profile_updated(user_id, telegram_id, locale="ru", revision=2)  # delivered late
    await wait_until_handled(resources, await publish_as(services, "users", older), consumer)

    row = await learner_row(resources, user_id)
    assert row is not None
    assert (row.locale, row.revision) == ("en", 3)


async def test_an_erasure_event_forgets_the_learners_rows_and_every_redis_key_of_theirs(
    gateway, tg, services, resources
):
    user, learner = await register(gateway, tg, full_name="Эрика Забытова")
    user_id, telegram_id = learner["id"], user.id
    prefix = resources.settings.redis_prefix
    # What the gateway keeps of a learner in its tables…
    async with transaction(resources.sessionmaker) as session:
        await LearnerRepository(session).remember(
            user_id=user_id, telegram_id=telegram_id, locale="ru", time_zone="Europe/Moscow", revision=1
        )
        session.add(UserState(telegram_id=telegram_id, user_id=user_id, state_data={"menu": "profile"}))
        text = "Эрика, на балансе 3 монеты"
        session.add(NotificationLog(user_id=user_id, chat_id=telegram_id, kind="balance_low", text=text, status="sent"))
    # …and in Redis: a conversation with its answers, throttling, a press, a send window, an avatar file id
    # (the cached learner context is there from the /start `register` sent).
    storage_key = StorageKey(bot_id=gateway.bot.id, chat_id=telegram_id, user_id=telegram_id)
    await gateway.dispatcher.storage.set_state(storage_key, "ProfileEditing:city")
    await gateway.dispatcher.storage.set_data(storage_key, {"full_name": "Эрика Забытова"})
    await resources.redis.set(redis_keys.press(prefix, telegram_id, "stars-invoice:1"), "1", ex=60)
    await resources.redis.set(redis_keys.avatar_file(prefix, user_id, 7, "large"), "AgACfile", ex=60)
    await gateway.sender.send_message(telegram_id, "Напоминание")
    named = await redis_keys_naming(resources, telegram_id, user_id)
    kinds = {key.removeprefix(prefix).split(":")[1] for key in named}
    assert kinds >= {"learner", "throttle", "press", "rate", "avatar"}
    assert any(key.endswith(":data") for key in named)

    erased = UserErasedV2(user_id=user_id, erased_at=datetime.now(UTC))
    await wait_until_handled(resources, await publish_as(services, "users", erased), "learner-directory")

    assert await gateway_rows(resources, user_id=user_id, telegram_id=telegram_id) == {
        "learners": 0,
        "user_states": 0,
        "notification_log": 0,
    }
    assert await redis_keys_naming(resources, telegram_id, user_id) == []
    assert await redis_values_naming(resources, "Эрика") == []
    grave = await tombstone(resources, user_id)
    assert grave is not None
    assert abs(grave.erased_at - erased.erased_at) < timedelta(seconds=1)

    # Again (a redelivery, the bot's own flow before it): nothing left to do, no error, the first tombstone.
    async with transaction(resources.sessionmaker) as session:
        again = await forget_erased_learner(
            session, resources.redis, prefix, user_id, erased_at=datetime.now(UTC) + timedelta(days=1)
        )
    assert (again.telegram_id, again.redis_keys_deleted) == (None, 0)
    grave_again = await tombstone(resources, user_id)
    assert grave_again is not None
    assert grave_again.erased_at == grave.erased_at


async def test_an_erasure_before_the_registration_keeps_the_late_registration_out(gateway, services, resources):
    user_id, telegram_id = unknown_user_id(), 10**9 + secrets.randbelow(10**9)
    consumer = "learner-directory"

    erased = UserErasedV2(user_id=user_id, erased_at=datetime.now(UTC))
    await wait_until_handled(resources, await publish_as(services, "users", erased), consumer)
    await wait_until_handled(resources, await publish_as(services, "users", registered(user_id, telegram_id)), consumer)
    later = profile_updated(user_id, telegram_id, locale="en", revision=2)
    await wait_until_handled(resources, await publish_as(services, "users", later), consumer)

    assert await learner_row(resources, user_id) is None
    assert await tombstone(resources, user_id) is not None
    async with transaction(resources.sessionmaker) as session:
        applied = await LearnerRepository(session).remember(
            user_id=user_id, telegram_id=telegram_id, locale="ru", time_zone=None, revision=9
        )
    assert applied is False


async def test_a_new_account_of_the_same_telegram_user_replaces_the_row_of_the_erased_one(gateway, resources):
    telegram_id = 10**9 + secrets.randbelow(10**9)
    old_id, new_id = unknown_user_id(), unknown_user_id()
    async with transaction(resources.sessionmaker) as session:
        learners = LearnerRepository(session)
        await learners.remember(user_id=old_id, telegram_id=telegram_id, locale="ru", time_zone=None, revision=4)
        # Erased by an operator; the person registers again before the erasure event reaches the gateway.
        assert await learners.remember(user_id=new_id, telegram_id=telegram_id, locale="en", time_zone=None, revision=1)

    assert await learner_row(resources, old_id) is None
    new_row = await learner_row(resources, new_id)
    assert new_row is not None
    assert new_row.telegram_id == telegram_id
    # The old account's erasure, arriving now, knows no chat: the new account's conversation stays.
    storage_key_state = redis_keys.fsm(resources.settings.redis_prefix, telegram_id, telegram_id, "state")
    await resources.redis.set(storage_key_state, "AvatarUpload:photo", ex=60)
    async with transaction(resources.sessionmaker) as session:
        forgotten = await forget_erased_learner(
            session, resources.redis, resources.settings.redis_prefix, old_id, erased_at=datetime.now(UTC)
        )
    assert forgotten.telegram_id is None
    assert await resources.redis.get(storage_key_state) is not None
    assert await learner_row(resources, new_id) is not None


async def test_a_notification_for_an_erased_learner_is_dropped(gateway, services, resources):
    user_id = unknown_user_id()
    erased = UserErasedV2(user_id=user_id, erased_at=datetime.now(UTC))
    await wait_until_handled(resources, await publish_as(services, "users", erased), "learner-directory")

    inactive = LearnerInactiveV1(
        user_id=user_id,
        last_activity_at=datetime.now(UTC) - timedelta(days=9),
        inactive_days=9,
        period_start=datetime.now(UTC).date(),
        detected_at=datetime.now(UTC),
    )
    await wait_until_handled(resources, await publish_as(services, "progress", inactive), "notifications")

    async with resources.sessionmaker() as session:
        logged = await session.scalar(
            select(func.count()).select_from(NotificationLog).where(NotificationLog.user_id == user_id)
        )
    assert logged == 0


async def test_an_erased_learners_notification_does_not_wait_for_its_turn(gateway, services, resources):
    """A course's points wait for the course's congratulation; an erased learner's never comes, and is not
    waited for (the turn's first look also finds the tombstone): handled at once, not after the turn's 10 s
    and a retry."""
    user_id = unknown_user_id()
    erased = UserErasedV2(user_id=user_id, erased_at=datetime.now(UTC))
    await wait_until_handled(resources, await publish_as(services, "users", erased), "learner-directory")
    points = PointsAwardedV2(
        user_id=user_id,
        award_id=10**9 + secrets.randbelow(10**8),
        points=100,
        reason="course_completed",
        awarded_for=PointsAwardedFor(kind="course", id=900_000 + secrets.randbelow(90_000), title="Курс"),
        total_points=100,
        level_before=Level(level=1, title="Новичок", title_en="Beginner", min_points=0),
        level_after=Level(level=2, title="Ученик", title_en="Apprentice", min_points=100),
        awarded_at=datetime.now(UTC),
    )

    await wait_until_handled(resources, await publish_as(services, "gamification", points), "notifications", timeout=5)


async def test_a_notification_being_sent_while_the_learner_is_erased_leaves_no_line_in_the_log(gateway, resources):
    """The race CI met: a reward notification found the learner, the erasure committed while it rendered,
    and its log line (the text it sent) was written after the erasure had deleted the log. An erasure now
    waits for a delivery under way and deletes what it logged; a delivery that comes after finds the
    tombstone and says nothing."""
    user_id, telegram_id = unknown_user_id(), 10**9 + secrets.randbelow(10**9)
    async with transaction(resources.sessionmaker) as session:
        await LearnerRepository(session).remember(
            user_id=user_id, telegram_id=telegram_id, locale="ru", time_zone=None, revision=1
        )
    rendering, go_on = asyncio.Event(), asyncio.Event()

    async def slow_render():
        rendering.set()
        await go_on.wait()
        return "🎁 Награда за достижение: +10 монет", None

    async def notify() -> None:
        event = completed_event(user_id)
        async with transaction(resources.sessionmaker) as session:
            ctx = EventContext(session=session, event=event, resources=resources, consumer="notifications", attempt=0)
            await deliver(ctx, user_id, kind=f"balance:{secrets.randbelow(10**6)}", render=slow_render)

    async def erase() -> None:
        async with transaction(resources.sessionmaker) as session:
            await forget_erased_learner(
                session, resources.redis, resources.settings.redis_prefix, user_id, erased_at=datetime.now(UTC)
            )

    delivery = asyncio.create_task(notify())
    await asyncio.wait_for(rendering.wait(), timeout=10)
    erasure = asyncio.create_task(erase())
    await asyncio.wait({erasure}, timeout=1.0)  # unguarded, the erasure commits here, before the log line
    go_on.set()
    await asyncio.wait_for(asyncio.gather(delivery, erasure), timeout=20)

    async with resources.sessionmaker() as session:
        logged = await session.scalar(
            select(func.count()).select_from(NotificationLog).where(NotificationLog.user_id == user_id)
        )
    assert logged == 0
    assert await learner_row(resources, user_id) is None

    # Once erased, a delivery finds the tombstone and logs nothing either.
    go_on.set()
    await notify()
    async with resources.sessionmaker() as session:
        assert not await session.scalar(
            select(func.count()).select_from(NotificationLog).where(NotificationLog.user_id == user_id)
        )


def completed_event(user_id: int) -> CloudEvent:
    """A CloudEvent to stand for the one a notification is about (its id keys the log line)."""
    return CloudEvent(
        source="/beauty-academy/billing",
        type="billing.balance_changed.v1",
        time=datetime.now(UTC),
        data={"user_id": user_id},
    )
