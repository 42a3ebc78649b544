import asyncio
import importlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from academy_contracts import EventData, build_event
from academy_contracts.progress import CourseCompletedV1, CourseCompletedV2, LessonCompletedV1
from academy_contracts.users import ProfileUpdatedV3, UserRegisteredV3
from academy_gamification.activity.consumers import learning_progress
from academy_gamification.app import service as gamification_service
from academy_gamification.learners.consumers import learner_profiles
from academy_gamification.models import (
    Achievement,
    LearnerScore,
    Level,
    PointsLedgerEntry,
    Streak,
    UserAchievement,
    messaging,
)
from academy_gamification.points.consumers import welcome_points
from academy_gamification.reference import forget_reference_data
from academy_runtime.after_commit import wait_for_after_commit_jobs
from academy_runtime.bus import event_message
from academy_runtime.consumer import ConsumerRuntime
from academy_runtime.db import transaction
from academy_runtime.relay import OutboxRelay
from academy_runtime.service import ServiceDefinition
from academy_runtime.testing import ProducerBus
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

pytest_plugins = ["academy_runtime.testing"]

# What the migration seeds; `_empty_tables` truncates it after every test, so it is put back before each.
REFERENCE = importlib.import_module(
    "academy_gamification.migrations.versions.6c1d0e7a9b42_profiles_category_scores_and_rules"
)

T = TypeVar("T")


@pytest.fixture(scope="session")
def service() -> ServiceDefinition:
    return gamification_service


@pytest.fixture(autouse=True)
async def _reference_data(request: pytest.FixtureRequest) -> None:
    if "resources" not in request.fixturenames:
        return
    resources = request.getfixturevalue("resources")
    forget_reference_data()  # the tables were emptied after the previous test
    async with transaction(resources.sessionmaker) as session:
        await session.execute(insert(Level).values(REFERENCE.LEVELS).on_conflict_do_nothing())
        await session.execute(insert(Achievement).values(REFERENCE.ACHIEVEMENTS).on_conflict_do_nothing())
    # Boards cached by an earlier test describe rows that are gone now.
    keys = [key async for key in resources.redis.scan_iter(match=resources.rkey("gamification", "*"))]
    if keys:
        await resources.redis.delete(*keys)


class Driver:
    """Publishes events to the run's exchange for the real consumers and reads what they did."""

    def __init__(self, resources: Any, exchange: ProducerBus) -> None:
        self.resources = resources
        self.exchange = exchange

    # -- events ------------------------------------------------------------------------------------
    @staticmethod
    def registered(
        user_id: int, *, display_name: str | None = None, city: str | None = None, at: datetime | None = None
    ):
        return UserRegisteredV3(
            user_id=user_id,
            telegram_id=50_000 + user_id,
            display_name=display_name,
            city=city,
            locale="ru",
            time_zone="Europe/Moscow",
            time_zone_source="default",
            consent_version="2025-01",
            revision=1,
            registered_at=at or datetime.now(UTC),
        )

    @staticmethod
    def profile_updated(user_id: int, *, display_name: str | None, city: str | None, at: datetime, revision: int = 2):
        return ProfileUpdatedV3(
            user_id=user_id,
            telegram_id=50_000 + user_id,
            changed_fields=("display_name", "city"),
            display_name=display_name,
            city=city,
            locale="ru",
            time_zone="Europe/Moscow",
            time_zone_source="default",
            revision=revision,
            updated_at=at,
        )

    @staticmethod
    def lesson(user_id: int, lesson_id: int, *, course_id: int = 1, category: str = "manicure", at: datetime):
        return LessonCompletedV1(
            user_id=user_id,
            course_id=course_id,
            lesson_id=lesson_id,
            category=category,
            watch_time=600,
            completed_at=at,
            lessons_completed_in_course=1,
            lessons_total=50,
        )

    @staticmethod
    def course(user_id: int, course_id: int, *, category: str = "manicure", at: datetime | None = None):
        return CourseCompletedV2(
            user_id=user_id,
            course_id=course_id,
            course_title=f"Курс {course_id}",
            category=category,
            completed_at=at or datetime.now(UTC),
        )

    @staticmethod
    def course_v1(user_id: int, course_id: int, *, category: str = "manicure", at: datetime | None = None):
        """The version-1 twin progress publishes next to `course` during the move to v2."""
        return CourseCompletedV1(
            user_id=user_id, course_id=course_id, category=category, completed_at=at or datetime.now(UTC)
        )

    async def publish(self, data: EventData, *, event_id: str | None = None) -> str:
        payload = build_event(data, event_id=event_id).model_dump(mode="json", exclude_none=True)
        await self.exchange.publish(event_message(payload), routing_key=payload["type"])
        return str(payload["id"])

    async def publish_one_by_one(self, consumer: str, events: list[EventData]) -> None:
        """Each event handled before the next is sent: the order of arrival is exactly the list's."""
        for data in events:
            before = await self.handled_count(consumer)
            await self.publish(data)
            await self.wait_handled(consumer, before + 1)

    # -- waiting -----------------------------------------------------------------------------------
    async def handled_count(self, consumer: str) -> int:
        inbox = messaging.inbox
        async with self.resources.sessionmaker() as session:
            stmt = select(func.count()).select_from(inbox).where(inbox.c.consumer == consumer)
            return int(await session.scalar(stmt) or 0)

    async def wait_handled(self, consumer: str, count: int, timeout: float = 20) -> None:
        """Wait until `count` distinct events were handled (committed) by `consumer`."""
        await self.eventually(lambda: self.handled_count(consumer), lambda n: n >= count, timeout=timeout)
        # Redeliveries of an id already handled leave no inbox row; give them a moment to be dropped.
        await asyncio.sleep(0.2)
        await wait_for_after_commit_jobs()

    @staticmethod
    async def eventually(read: Callable[[], Awaitable[T]], ok: Callable[[T], bool], *, timeout: float = 20) -> T:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await read()
            if ok(value) or asyncio.get_running_loop().time() > deadline:
                return value
            await asyncio.sleep(0.05)

    # -- reading -----------------------------------------------------------------------------------
    async def ledger(self, user_id: int) -> list[PointsLedgerEntry]:
        async with self.resources.sessionmaker() as session:
            stmt = select(PointsLedgerEntry).where(PointsLedgerEntry.user_id == user_id).order_by(PointsLedgerEntry.id)
            return list((await session.execute(stmt)).scalars())

    async def score(self, user_id: int) -> LearnerScore | None:
        async with self.resources.sessionmaker() as session:
            return await session.get(LearnerScore, user_id)

    async def streak(self, user_id: int) -> Streak | None:
        async with self.resources.sessionmaker() as session:
            return await session.get(Streak, user_id)

    async def achievement_codes(self, user_id: int) -> list[str]:
        async with self.resources.sessionmaker() as session:
            stmt = (
                select(Achievement.code)
                .join(UserAchievement, UserAchievement.achievement_id == Achievement.id)
                .where(UserAchievement.user_id == user_id)
                .order_by(Achievement.code)
            )
            return list((await session.execute(stmt)).scalars())

    async def outbox(self, event_type: str, user_id: int | None = None) -> list[dict[str, Any]]:
        async with self.resources.sessionmaker() as session:
            stmt = select(messaging.outbox.c.payload).order_by(messaging.outbox.c.id)
            payloads = [p for p in (await session.execute(stmt)).scalars() if p["type"] == event_type]
        return [p for p in payloads if user_id is None or p["data"]["user_id"] == user_id]

    async def relay_outbox(self) -> int:
        relay = OutboxRelay(self.resources.settings, self.resources.sessionmaker, messaging)
        try:
            return await relay.publish_pending()
        finally:
            await relay.close()

    async def state(self, user_id: int) -> dict[str, Any]:
        """Everything a learner's facts determine, to compare two orders of arrival."""
        score = await self.score(user_id)
        streak = await self.streak(user_id)
        ledger = await self.ledger(user_id)
        return {
            "total_points": score.total_points if score else 0,
            "level": score.level if score else None,
            "lessons_completed": score.lessons_completed if score else 0,
            "courses_completed": score.courses_completed if score else 0,
            "awards": sorted((e.award_key.split(":")[0], e.points, e.category) for e in ledger),
            "achievements": await self.achievement_codes(user_id),
            "streak": (streak.current_days, streak.longest_days) if streak else None,
        }


@pytest.fixture
async def gamification(resources, platform):
    """The service's consumers running on the real broker, and a driver to feed them (each event published
    as its producer's broker user, as that service's relay would)."""
    runtime = ConsumerRuntime(resources, messaging, [welcome_points, learner_profiles, learning_progress])
    await runtime.start()
    producers = ProducerBus(platform)
    try:
        yield Driver(resources, producers)
    finally:
        await producers.close()
        await runtime.stop()
        await wait_for_after_commit_jobs()
