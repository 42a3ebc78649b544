"""points_awarded.v2 and achievement_unlocked.v2: what the points are for and the level they reached, an
achievement's texts in both languages with its points, and one chain per learner in the order of the facts."""

from datetime import UTC, datetime

import pytest
from academy_contracts.progress import CourseCompletedV2
from academy_gamification.models import messaging
from sqlalchemy import select

pytestmark = pytest.mark.integration

PROGRESS = "learning-progress"
POINTS_V1 = "gamification.points_awarded.v1"
POINTS_V2 = "gamification.points_awarded.v2"
UNLOCKED_V1 = "gamification.achievement_unlocked.v1"
UNLOCKED_V2 = "gamification.achievement_unlocked.v2"
DAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def course_v2(user_id: int, course_id: int, title: str) -> CourseCompletedV2:
    return CourseCompletedV2(
        user_id=user_id, course_id=course_id, course_title=title, category="manicure", completed_at=DAY
    )


async def v2_chain(gamification, user_id: int) -> list[dict]:
    """The learner's v2 events in the order gamification wrote them to its outbox."""
    async with gamification.resources.sessionmaker() as session:
        rows = await session.execute(
            select(messaging.outbox.c.payload)
            .where(messaging.outbox.c.event_type.in_([POINTS_V2, UNLOCKED_V2]))
            .order_by(messaging.outbox.c.id)
        )
        return [p for p in rows.scalars() if p["data"]["user_id"] == user_id]


async def test_course_points_name_the_course_and_the_level_they_reached(gamification):
    await gamification.publish(gamification.registered(30))
    await gamification.wait_handled("welcome-points", 1)
    await gamification.publish(course_v2(30, 7, "Аппаратный маникюр"))
    await gamification.wait_handled(PROGRESS, 1)

    by_reason = {e["data"]["reason"]: e["data"] for e in await gamification.outbox(POINTS_V2, 30)}
    welcome, course = by_reason["welcome"], by_reason["course_completed"]
    assert welcome.get("awarded_for") is None
    assert (welcome["level_before"]["level"], welcome["level_after"]["level"]) == (1, 1)
    assert course["awarded_for"] == {"kind": "course", "id": 7, "title": "Аппаратный маникюр", "title_en": None}
    assert (course["points"], course["total_points"]) == (100, 150)
    assert course["level_before"] == {"level": 1, "title": "Новичок", "title_en": "Beginner", "min_points": 0}
    assert course["level_after"] == {"level": 2, "title": "Ученик", "title_en": "Apprentice", "min_points": 100}
    # v1 of every award is still published, with the same award id
    assert sorted(e["data"]["award_id"] for e in await gamification.outbox(POINTS_V1, 30)) == sorted(
        e["award_id"] for e in by_reason.values()
    )


async def test_an_achievement_carries_both_languages_and_the_points_and_level_it_brought(gamification):
    await gamification.publish(course_v2(31, 7, "Аппаратный маникюр"))
    await gamification.wait_handled(PROGRESS, 1)

    [unlocked] = [e["data"] for e in await gamification.outbox(UNLOCKED_V2, 31)]
    assert (unlocked["code"], unlocked["title"], unlocked["title_en"]) == (
        "first_course_completed",
        "Первый курс завершён",
        "First course completed",
    )
    assert (unlocked["description"], unlocked["description_en"]) == (
        "Завершите свой первый курс.",
        "Complete your first course.",
    )
    [its_points] = [e["data"] for e in await gamification.outbox(POINTS_V2, 31) if e["data"]["reason"] == "achievement"]
    assert its_points["awarded_for"] == {
        "kind": "achievement",
        "id": unlocked["achievement_id"],
        "title": "Первый курс завершён",
        "title_en": "First course completed",
    }
    assert unlocked["award_id"] == its_points["award_id"]
    # 100 for the course (level 2 from 100), then 50 for the achievement: no new level this time
    assert (unlocked["points"], unlocked["total_points"]) == (50, 150)
    assert (unlocked["level_before"]["level"], unlocked["level_after"]["level"]) == (2, 2)
    assert len(await gamification.outbox(UNLOCKED_V1, 31)) == 1  # billing's coin rewards still bind v1


async def test_a_learners_v2_events_form_one_chain_in_the_order_of_the_facts(gamification):
    await gamification.publish_one_by_one(
        PROGRESS,
        [gamification.lesson(32, 321, at=DAY), gamification.lesson(32, 322, at=DAY), course_v2(32, 9, "Брови")],
    )

    chain = await v2_chain(gamification, 32)
    assert [(e["type"], e["data"].get("reason") or e["data"]["code"]) for e in chain] == [
        (POINTS_V2, "lesson_completed"),
        (POINTS_V2, "achievement"),  # first_lesson's points, then the achievement that says so
        (UNLOCKED_V2, "first_lesson"),
        (POINTS_V2, "lesson_completed"),
        (POINTS_V2, "course_completed"),
        (POINTS_V2, "achievement"),
        (UNLOCKED_V2, "first_course_completed"),
    ]
    assert chain[0]["data"].get("follows_event_id") is None
    assert [e["data"]["follows_event_id"] for e in chain[1:]] == [e["id"] for e in chain[:-1]]
    # another learner's chain is their own
    await gamification.publish(gamification.lesson(33, 331, at=DAY))
    await gamification.wait_handled(PROGRESS, 4)
    assert (await v2_chain(gamification, 33))[0]["data"].get("follows_event_id") is None


async def test_a_completion_published_in_both_versions_is_awarded_once_from_v2(gamification):
    """Progress publishes v1 and v2 of a completion together; gamification binds v2 only (issue 11: waiting for
    the v1 event's twin held one of the consumer's two parallel places), so v1 never reaches it, whichever
    comes first."""
    await gamification.publish(gamification.course_v1(34, 7, at=DAY))
    await gamification.publish(course_v2(34, 7, "Аппаратный маникюр"))
    await gamification.publish(gamification.course_v1(35, 8, at=DAY))  # alone: its v2 carries the fact
    await gamification.publish(course_v2(36, 9, "Ламинирование ресниц"))
    await gamification.wait_handled(PROGRESS, 2)

    assert [e.award_key for e in await gamification.ledger(34)] == ["course:34:7", "achievement:34:3"]
    assert await gamification.ledger(35) == []
    assert [e.award_key for e in await gamification.ledger(36)] == ["course:36:9", "achievement:36:3"]
    titles = {
        e["data"]["user_id"]: e["data"]["awarded_for"]["title"]
        for e in await gamification.outbox(POINTS_V2)
        if e["data"]["reason"] == "course_completed"
    }
    assert titles == {34: "Аппаратный маникюр", 36: "Ламинирование ресниц"}
