"""Achievements through the real consumers: each unlocked once, category rules count their category."""

from datetime import UTC, datetime, timedelta

import pytest
from academy_contracts import parse_event
from academy_gamification.models import UserAchievement
from sqlalchemy import func, select

pytestmark = pytest.mark.integration

PROGRESS = "learning-progress"
DAY = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)


async def test_each_achievement_is_unlocked_once_whatever_is_replayed(gamification, event_probe):
    ten_lessons = [gamification.lesson(10, 600 + i, at=DAY) for i in range(10)]
    for event in ten_lessons:
        await gamification.publish(event)
    await gamification.wait_handled(PROGRESS, 10)
    # Every fact again, as progress would re-publish it: new event ids, the same facts.
    for event in ten_lessons:
        await gamification.publish(event)
    await gamification.wait_handled(PROGRESS, 20)

    assert await gamification.achievement_codes(10) == ["first_lesson", "ten_lessons"]
    async with gamification.resources.sessionmaker() as session:
        rows = await session.scalar(
            select(func.count()).select_from(UserAchievement).where(UserAchievement.user_id == 10)
        )
    assert rows == 2
    ledger = await gamification.ledger(10)
    achievement_awards = sorted(e.points for e in ledger if e.reason == "achievement")
    assert achievement_awards == [10, 50]  # first_lesson, ten_lessons: their points once each
    assert sum(e.points for e in ledger) == (await gamification.score(10)).total_points == 160

    await gamification.relay_outbox()
    published = []
    while True:
        try:
            published.append(await event_probe.next("gamification.achievement_unlocked.v1", timeout=1))
        except TimeoutError:
            break
    codes = sorted(parse_event(payload)[1].code for payload in published)
    assert codes == ["first_lesson", "ten_lessons"]


async def test_a_category_achievement_counts_only_courses_of_its_category(gamification):
    courses = [
        gamification.course(11, 1, category="manicure", at=DAY),
        gamification.course(11, 2, category="manicure", at=DAY),
        gamification.course(11, 3, category="pedicure", at=DAY),
    ]
    for event in courses:
        await gamification.publish(event)
    await gamification.wait_handled(PROGRESS, 3)
    # three courses, but only two of them manicure: no "Мастер ногтей"; one pedicure is not two
    assert await gamification.achievement_codes(11) == ["first_course_completed", "three_courses"]

    await gamification.publish(gamification.course(11, 4, category="manicure", at=DAY + timedelta(days=1)))
    await gamification.wait_handled(PROGRESS, 4)
    assert await gamification.achievement_codes(11) == ["first_course_completed", "nail_master", "three_courses"]
    unlocked = await gamification.outbox("gamification.achievement_unlocked.v1", 11)
    nail_master = [p["data"] for p in unlocked if p["data"]["code"] == "nail_master"]
    assert len(nail_master) == 1
    assert (nail_master[0]["title"], nail_master[0]["category"], nail_master[0]["points"]) == (
        "Мастер ногтей",
        "manicure",
        200,
    )


async def test_achievements_endpoint_shows_progress_and_unlocks(api, gamification):
    await gamification.publish(gamification.course(12, 1, category="manicure", at=DAY))
    await gamification.publish(gamification.lesson(12, 700, at=DAY))
    await gamification.wait_handled(PROGRESS, 2)

    response = await api.get("/internal/learners/12/achievements")
    assert response.status_code == 200
    items = {item["code"]: item for item in response.json()["items"]}
    assert items["first_course_completed"]["unlocked"] is True
    assert items["first_course_completed"]["earned_at"] is not None
    assert (items["nail_master"]["progress"], items["nail_master"]["condition_value"]) == (1, 3)
    assert items["nail_master"]["unlocked"] is False
    assert items["nail_master"]["category"] == "manicure"
    assert items["nail_master"]["title_en"] == "Nail master"
    assert (items["ten_lessons"]["progress"], items["ten_lessons"]["unlocked"]) == (1, False)
    assert items["pedicure_master"]["progress"] == 0


async def test_a_learner_without_activity_has_every_achievement_locked_and_bad_ids_get_422(api):
    items = (await api.get("/internal/learners/99/achievements")).json()["items"]
    assert len(items) == 13
    assert not any(item["unlocked"] or item["progress"] for item in items)
    response = await api.get("/internal/learners/0/achievements")
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "path.user_id"
