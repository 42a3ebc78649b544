"""A learner's erasure (`users.user_erased.v2`) through the real consumer: afterwards neither their display
name, nor their city, nor their user id is anywhere gamification keeps things (every table of its schema,
the outbox included, read as text; every Redis key and value of the run), but the tombstone of the id;
the platform's points total is unchanged (their ledger rows stay, belonging to nobody); and facts about
them delivered late store nothing again."""

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from academy_contracts.users import UserErasedV2
from academy_gamification.leaderboards import service as leaderboards
from academy_gamification.leaderboards.board import Board
from academy_gamification.leaderboards.cache import LeaderboardCache, member
from academy_gamification.models import ErasedLearner, PointsLedgerEntry
from academy_runtime.migrations import migrate
from academy_runtime.testing import redis_entries_mentioning, rows_mentioning
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.integration

PROFILES, WELCOME, PROGRESS = "learner-profiles", "welcome-points", "learning-progress"
ZINAIDA, OTHER = 918_273, 918_274
NAME, CITY = "Зинаида Ю.", "Урюпинск"
DAY = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)


async def zinaida_learns(gamification) -> None:
    """Zinaida (alone in Урюпинск) and another learner (in Тверь) register; Zinaida completes ten lessons on
    three days and a course: welcome points, lessons, a course, achievements, a streak, category scores."""
    await gamification.publish(gamification.registered(ZINAIDA, display_name=NAME, city=CITY, at=DAY))
    await gamification.publish(gamification.registered(OTHER, display_name="Ольга Т.", city="Тверь", at=DAY))
    for lesson in range(10):
        await gamification.publish(gamification.lesson(ZINAIDA, 700 + lesson, at=DAY + timedelta(days=lesson % 3)))
    await gamification.publish(gamification.course(ZINAIDA, 70, at=DAY + timedelta(days=2)))
    await gamification.publish(gamification.lesson(OTHER, 700, at=DAY))
    await gamification.wait_handled(WELCOME, 2)
    await gamification.wait_handled(PROFILES, 2)
    await gamification.wait_handled(PROGRESS, 12)


async def put_on_the_boards(api) -> None:
    """Read the boards Zinaida is on, so that Redis holds them."""
    for params in (
        {"user_id": ZINAIDA},
        {"scope": "city", "city": CITY, "user_id": ZINAIDA},
        {"scope": "category", "category": "manicure", "user_id": ZINAIDA},
    ):
        body = (await api.get("/internal/leaderboards", params=params)).json()
        assert body["me"]["user_id"] == ZINAIDA, params


async def erase(gamification, user_id: int, handled: int) -> None:
    await gamification.publish(UserErasedV2(user_id=user_id, erased_at=datetime.now(UTC)))
    await gamification.wait_handled(PROFILES, handled)


def the_id(user_id: int) -> re.Pattern[str]:
    """The user id as a number of its own, or zero-padded as the leaderboards name members."""
    return re.compile(rf"(?<!\d)(0*{user_id})(?!\d)")


async def database_leftovers(gamification, user_id: int) -> list[str]:
    """Every row of every table of the gamification schema (but the tombstones') that holds the name, the
    city or the user id."""
    async with gamification.resources.sessionmaker() as session:
        return await rows_mentioning(
            session, "gamification", [NAME, CITY, the_id(user_id)], except_tables=("erased_learners",)
        )


async def redis_leftovers(gamification, user_id: int) -> list[str]:
    """Every Redis key of the run, by its name and every value it holds (read by its type), that holds the
    name, the city or the user id."""
    resources = gamification.resources
    return await redis_entries_mentioning(
        resources.redis, resources.settings.redis_prefix, [NAME, CITY, the_id(user_id)]
    )


async def platform_points(gamification) -> tuple[int, int]:
    """(sum of every ledger row's points, number of rows)."""
    async with gamification.resources.sessionmaker() as session:
        total, rows = (
            await session.execute(select(func.coalesce(func.sum(PointsLedgerEntry.points), 0), func.count()))
        ).one()
    return int(total), int(rows)


async def per_learner_sums_hold(gamification) -> None:
    """Every learner's totals and category scores are their ledger rows' sums, and nobody has a score
    without ledger rows (the invariants the service keeps, still true with detached rows)."""
    async with gamification.resources.sessionmaker() as session:
        wrong = (
            await session.execute(
                text(
                    "SELECT s.user_id FROM gamification.learner_scores s"
                    " WHERE s.total_points <> (SELECT coalesce(sum(points), 0) FROM gamification.points_ledger l"
                    "   WHERE l.user_id = s.user_id)"
                    " UNION ALL SELECT c.user_id FROM gamification.learner_category_scores c"
                    " WHERE c.points <> (SELECT coalesce(sum(points), 0) FROM gamification.points_ledger l"
                    "   WHERE l.user_id = c.user_id AND l.category = c.category)"
                )
            )
        ).all()
    assert wrong == []


async def test_an_erased_learner_leaves_nothing_but_detached_points(api, gamification):
    await zinaida_learns(gamification)
    await put_on_the_boards(api)
    assert await gamification.achievement_codes(ZINAIDA) == [
        "first_course_completed",
        "first_lesson",
        "streak_3_days",
        "ten_lessons",
    ]
    assert await gamification.outbox("gamification.achievement_unlocked.v2", ZINAIDA)
    # Before the erasure the search finds her everywhere: it would notice anything left behind.
    assert len(await database_leftovers(gamification, ZINAIDA)) > 10
    assert len(await redis_leftovers(gamification, ZINAIDA)) >= 3
    before = await platform_points(gamification)
    her_awards = len(await gamification.ledger(ZINAIDA))
    other_before = await gamification.state(OTHER)

    await erase(gamification, ZINAIDA, 3)

    assert await database_leftovers(gamification, ZINAIDA) == []
    assert await redis_leftovers(gamification, ZINAIDA) == []
    assert await platform_points(gamification) == before  # her points stay in the platform's totals
    async with gamification.resources.sessionmaker() as session:
        detached = list(
            (await session.execute(select(PointsLedgerEntry).where(PointsLedgerEntry.user_id.is_(None)))).scalars()
        )
        assert await session.get(ErasedLearner, ZINAIDA) is not None
    assert len(detached) == her_awards
    assert all(row.award_key == f"erased:{row.id}" and row.source_event_id is None for row in detached)
    assert all(row.created_at == row.created_at.replace(hour=0, minute=0, second=0, microsecond=0) for row in detached)
    await per_learner_sums_hold(gamification)
    assert await gamification.state(OTHER) == other_before  # nobody else is touched

    overall = (await api.get("/internal/leaderboards", params={"user_id": ZINAIDA})).json()
    assert [row["user_id"] for row in overall["top"]] == [OTHER]
    assert overall["me"] is None
    city = (await api.get("/internal/leaderboards", params={"scope": "city", "city": CITY})).json()
    assert city["top"] == []
    points = (await api.get(f"/internal/learners/{ZINAIDA}/points")).json()
    assert (points["total_points"], points["lessons_completed"], points["longest_streak_days"]) == (0, 0, 0)
    hide = await api.put(f"/internal/learners/{ZINAIDA}/leaderboard-visibility", json={"anonymous": True})
    assert hide.status_code == 404


async def test_facts_delivered_after_the_erasure_store_nothing(api, gamification):
    await zinaida_learns(gamification)
    await put_on_the_boards(api)
    await erase(gamification, ZINAIDA, 3)
    before = await platform_points(gamification)

    # A lesson completed just before the erasure, delivered after it; the registration and a profile
    # update told again; a course.
    await gamification.publish(gamification.lesson(ZINAIDA, 799, at=DAY + timedelta(days=3)))
    await gamification.publish(gamification.course(ZINAIDA, 71, at=DAY + timedelta(days=3)))
    await gamification.publish(gamification.registered(ZINAIDA, display_name=NAME, city=CITY, at=DAY))
    await gamification.publish(
        gamification.profile_updated(ZINAIDA, display_name=NAME, city=CITY, at=DAY + timedelta(days=3), revision=7)
    )
    await gamification.wait_handled(PROGRESS, 14)
    await gamification.wait_handled(WELCOME, 3)
    await gamification.wait_handled(PROFILES, 5)

    assert await gamification.state(ZINAIDA) == {
        "total_points": 0,
        "level": None,
        "lessons_completed": 0,
        "courses_completed": 0,
        "awards": [],
        "achievements": [],
        "streak": None,
    }
    assert await database_leftovers(gamification, ZINAIDA) == []
    assert await redis_leftovers(gamification, ZINAIDA) == []
    assert await platform_points(gamification) == before
    # Rebuilding every board from PostgreSQL does not bring her back either.
    await leaderboards.rebuild_all(gamification.resources)
    assert await redis_leftovers(gamification, ZINAIDA) == []


async def test_an_erasure_told_again_or_of_an_unknown_learner_changes_nothing_else(gamification):
    await zinaida_learns(gamification)
    await erase(gamification, ZINAIDA, 3)
    before = await platform_points(gamification)

    await erase(gamification, ZINAIDA, 4)  # the same fact under another event id
    await erase(gamification, 918_275, 5)  # nobody gamification has heard of: remembered all the same

    assert await platform_points(gamification) == before
    assert await database_leftovers(gamification, ZINAIDA) == []
    await gamification.publish(gamification.lesson(918_275, 1, at=DAY))
    await gamification.wait_handled(PROGRESS, 13)
    assert (await gamification.state(918_275))["awards"] == []


async def test_a_stale_cache_write_after_the_erasure_is_not_shown_and_goes(api, gamification):
    # A points update committed just before the erasure but written to Redis after it took her off.
    await zinaida_learns(gamification)
    await put_on_the_boards(api)
    await erase(gamification, ZINAIDA, 3)
    cache = LeaderboardCache(gamification.resources)
    overall = cache.key(Board("overall"))
    await gamification.resources.redis.zadd(overall, {member(ZINAIDA): -9999})

    body = (await api.get("/internal/leaderboards", params={"limit": 5})).json()

    assert [row["user_id"] for row in body["top"]] == [OTHER]
    assert await gamification.resources.redis.zscore(overall, member(ZINAIDA)) is None


# -- learners erased before this release ------------------------------------------------------------------

BEFORE = "e2a7c4b91d05"


async def test_the_migration_completes_the_erasures_of_the_previous_release(service, scratch_database_url):
    """The previous release kept an erased learner's points, achievements, streak and completions (only the
    name and city went); the migration erases them as an erasure does now."""
    await asyncio.to_thread(migrate, service, "upgrade", BEFORE, database_url=scratch_database_url)
    engine = create_async_engine(scratch_database_url)
    # Learner 7 was erased by the previous release (only the profile row's erased_at says so); 8 was not.
    statements = [
        "INSERT INTO gamification.learner_profiles (user_id, profile_at, erased_at) VALUES (7, now(), now())",
        (
            "INSERT INTO gamification.learner_profiles (user_id, display_name, city, city_key, profile_at)"
            " VALUES (8, 'Ольга Т.', 'Тверь', 'тверь', now())"
        ),
        (
            "INSERT INTO gamification.points_ledger (user_id, points, reason, award_key, source_event_id, created_at)"
            " VALUES (7, 50, 'welcome', 'welcome:7', 'e-7', '2026-09-07 15:30+00'),"
            " (7, 10, 'lesson_completed', 'lesson:7:1', 'e-71', '2026-09-08 10:00+00'),"
            " (8, 50, 'welcome', 'welcome:8', 'e-8', '2026-09-07 15:30+00')"
        ),
        "INSERT INTO gamification.learner_scores (user_id, total_points) VALUES (7, 60), (8, 50)",
        "INSERT INTO gamification.learner_category_scores (user_id, category, points) VALUES (7, 'manicure', 10)",
        "INSERT INTO gamification.streaks (user_id, current_days, longest_days) VALUES (7, 1, 1)",
        "INSERT INTO gamification.lesson_completions VALUES (7, 1, 1, now())",
        "INSERT INTO gamification.course_completions VALUES (7, 1, 'manicure', now())",
        (
            "INSERT INTO gamification.outbox (event_id, event_type, partition_key, payload)"
            " VALUES (gen_random_uuid(), 'gamification.points_awarded.v2', '7', '{}'),"
            " (gen_random_uuid(), 'gamification.points_awarded.v2', '8', '{}')"
        ),
    ]
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
        await asyncio.to_thread(migrate, service, "upgrade", "head", database_url=scratch_database_url)
        async with engine.connect() as conn:

            async def rows(sql: str) -> list[tuple]:
                return [tuple(row) for row in (await conn.execute(text(sql))).all()]

            ledger = await rows(
                "SELECT user_id, points, award_key = 'erased:' || id, source_event_id, created_at"
                " FROM gamification.points_ledger ORDER BY id"
            )
            per_learner = {
                table: await rows(f"SELECT user_id FROM gamification.{table} ORDER BY 1")
                for table in (
                    "learner_profiles",
                    "learner_scores",
                    "learner_category_scores",
                    "streaks",
                    "lesson_completions",
                    "course_completions",
                )
            }
            outbox = await rows("SELECT partition_key FROM gamification.outbox")
            erased = await rows("SELECT user_id FROM gamification.erased_learners")
    finally:
        await engine.dispose()

    assert erased == [(7,)]
    assert ledger == [
        (None, 50, True, None, datetime(2026, 9, 7, tzinfo=UTC)),
        (None, 10, True, None, datetime(2026, 9, 8, tzinfo=UTC)),
        (8, 50, False, "e-8", datetime(2026, 9, 7, 15, 30, tzinfo=UTC)),
    ]
    assert per_learner == {
        "learner_profiles": [(8,)],
        "learner_scores": [(8,)],
        "learner_category_scores": [],
        "streaks": [],
        "lesson_completions": [],
        "course_completions": [],
    }
    assert outbox == [("8",)]
