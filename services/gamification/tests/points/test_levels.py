"""Levels from points, and points_awarded carrying the total after each award."""

from datetime import UTC, datetime

import pytest
from academy_gamification.models import Level
from academy_gamification.points.service import current_level

pytestmark = pytest.mark.integration

DAY = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)

LEVELS = [
    Level(level=1, min_points=0, title_ru="Новичок", title_en="Beginner"),
    Level(level=2, min_points=100, title_ru="Ученик", title_en="Apprentice"),
    Level(level=3, min_points=300, title_ru="Практик", title_en="Practitioner"),
]


def test_the_level_is_the_highest_threshold_reached_and_the_top_level_has_no_next():
    assert [
        (lv.level if lv else None, nxt.level if nxt else None)
        for lv, nxt in (
            current_level(LEVELS, 0),
            current_level(LEVELS, 99),
            current_level(LEVELS, 100),
            current_level(LEVELS, 5000),
        )
    ] == [(1, 2), (1, 2), (2, 3), (3, None)]


async def test_points_endpoint_shows_the_level_its_titles_and_the_next_threshold(api, gamification):
    await gamification.publish(gamification.registered(20, display_name="Анна"))
    await gamification.wait_handled("welcome-points", 1)
    body = (await api.get("/internal/learners/20/points")).json()
    assert (body["total_points"], body["level"], body["level_title_ru"], body["level_title_en"]) == (
        50,
        1,
        "Новичок",
        "Beginner",
    )
    assert (body["next_level_points"], body["points_to_next_level"]) == (100, 50)

    await gamification.publish(gamification.course(20, 1, at=DAY))
    await gamification.wait_handled("learning-progress", 1)
    body = (await api.get("/internal/learners/20/points")).json()
    # 50 welcome + 100 course + 50 first_course_completed
    assert (body["total_points"], body["level"], body["level_title_ru"], body["level_title_en"]) == (
        200,
        2,
        "Ученик",
        "Apprentice",
    )
    assert (body["next_level_points"], body["points_to_next_level"], body["courses_completed"]) == (300, 100, 1)
    assert (await gamification.score(20)).level == 2


async def test_the_top_level_has_no_next_threshold(api, gamification):
    for course in range(1, 31):  # 30 x 100 points: beyond the highest threshold (3000)
        await gamification.publish(gamification.course(21, course, category="business", at=DAY))
    await gamification.wait_handled("learning-progress", 30)
    body = (await api.get("/internal/learners/21/points")).json()
    assert body["total_points"] >= 3000
    assert (body["level"], body["level_title_en"], body["next_level_points"], body["points_to_next_level"]) == (
        6,
        "Beauty guru",
        None,
        None,
    )


async def test_each_points_awarded_carries_the_total_after_it(gamification):
    await gamification.publish(gamification.registered(22))
    await gamification.publish(gamification.lesson(22, 1, at=DAY))
    await gamification.publish(gamification.course(22, 1, at=DAY))
    await gamification.wait_handled("learning-progress", 2)
    await gamification.wait_handled("welcome-points", 1)

    awarded = [p["data"] for p in await gamification.outbox("gamification.points_awarded.v1", 22)]
    ledger = {e.id: e for e in await gamification.ledger(22)}
    assert sorted(a["award_id"] for a in awarded) == sorted(ledger)
    totals = sorted(a["total_points"] for a in awarded)
    assert len(set(totals)) == len(totals)  # each award saw every earlier one: no two share a total
    assert totals[-1] == sum(e.points for e in ledger.values()) == (await gamification.score(22)).total_points
