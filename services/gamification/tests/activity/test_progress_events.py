"""progress.lesson_completed / course_completed through the real consumers: duplicates, the same fact
under another event id, reordering and late events all end in the same state."""

from datetime import UTC, datetime, timedelta

import pytest
from academy_gamification.models import CourseCompletion, LessonCompletion
from sqlalchemy import func, select

pytestmark = pytest.mark.integration

PROGRESS = "learning-progress"
DAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Moscow


async def test_the_same_lesson_event_delivered_twice_has_one_effect(gamification):
    event = gamification.lesson(1, 11, at=DAY)
    event_id = await gamification.publish(event)
    await gamification.publish(event, event_id=event_id)  # a redelivery: the same CloudEvent id

    await gamification.wait_handled(PROGRESS, 1)
    ledger = await gamification.ledger(1)
    assert [(e.award_key, e.points, e.reason) for e in ledger] == [
        ("lesson:1:11", 10, "lesson_completed"),
        ("achievement:1:1", 10, "achievement"),  # first_lesson
    ]
    score = await gamification.score(1)
    assert (score.total_points, score.lessons_completed) == (20, 1)
    assert len(await gamification.outbox("gamification.points_awarded.v1", 1)) == 2
    assert len(await gamification.outbox("gamification.achievement_unlocked.v1", 1)) == 1


async def test_the_same_fact_under_two_event_ids_is_awarded_once(gamification):
    # progress re-published the completion (a new event id, even a later timestamp): the same fact
    await gamification.publish_one_by_one(
        PROGRESS, [gamification.lesson(2, 21, at=DAY), gamification.lesson(2, 21, at=DAY + timedelta(hours=1))]
    )
    await gamification.publish(gamification.course(2, 5, at=DAY))
    await gamification.publish(gamification.course(2, 5, at=DAY))

    await gamification.wait_handled(PROGRESS, 4)
    keys = [e.award_key for e in await gamification.ledger(2)]
    assert keys.count("lesson:2:21") == 1
    assert keys.count("course:2:5") == 1
    async with gamification.resources.sessionmaker() as session:
        lessons = await session.scalar(select(func.count()).select_from(LessonCompletion))
        courses = await session.scalar(select(func.count()).select_from(CourseCompletion))
        first = await session.get(LessonCompletion, (2, 21))
    assert (lessons, courses) == (1, 1)
    assert first.completed_at == DAY  # the projection keeps the fact as first recorded
    score = await gamification.score(2)
    # lesson 10 + first_lesson 10 + course 100 + first_course_completed 50
    assert (score.total_points, score.lessons_completed, score.courses_completed) == (170, 1, 1)


async def test_course_before_its_lessons_and_lessons_in_reverse_give_the_same_result_as_in_order(gamification):
    lessons = [(lesson, DAY + timedelta(days=i)) for i, lesson in enumerate([101, 102, 103])]
    in_order = [gamification.lesson(3, lesson, course_id=9, at=at) for lesson, at in lessons]
    in_order.append(gamification.course(3, 9, at=lessons[-1][1]))
    reordered = [gamification.course(4, 9, at=lessons[-1][1])]
    reordered += [gamification.lesson(4, lesson, course_id=9, at=at) for lesson, at in reversed(lessons)]

    await gamification.publish_one_by_one(PROGRESS, in_order)
    await gamification.publish_one_by_one(PROGRESS, reordered)

    expected, got = await gamification.state(3), await gamification.state(4)
    assert got == expected
    assert expected["achievements"] == ["first_course_completed", "first_lesson", "streak_3_days"]
    assert expected["streak"] == (3, 3)
    # 3 lessons x 10 + course 100 + first_lesson 10 + first_course_completed 50 + streak_3_days 30
    assert expected["total_points"] == 220


async def test_a_late_lesson_from_an_earlier_day_repairs_the_streak(gamification):
    # Studied on days 1, 3 and 4: the streak is 2 (days 3-4); day 2 arrives last.
    for lesson, day in [(201, 1), (202, 3), (203, 4)]:
        await gamification.publish(gamification.lesson(5, lesson, at=DAY + timedelta(days=day)))
    await gamification.wait_handled(PROGRESS, 3)
    streak = await gamification.streak(5)
    assert (streak.current_days, streak.longest_days) == (2, 2)
    assert "streak_3_days" not in await gamification.achievement_codes(5)

    await gamification.publish(gamification.lesson(5, 204, at=DAY + timedelta(days=2)))
    await gamification.wait_handled(PROGRESS, 4)
    streak = await gamification.streak(5)
    assert (streak.current_days, streak.longest_days, streak.last_activity_date) == (
        4,
        4,
        (DAY + timedelta(days=4)).date(),
    )
    assert (await gamification.achievement_codes(5)).count("streak_3_days") == 1


async def test_study_days_are_calendar_days_in_the_configured_time_zone(gamification):
    # 23:00 and 00:30 in Moscow: two calendar days there, although both are on 1 March in UTC.
    await gamification.publish(gamification.lesson(6, 301, at=datetime(2026, 3, 1, 20, 0, tzinfo=UTC)))
    await gamification.publish(gamification.lesson(6, 302, at=datetime(2026, 3, 1, 21, 30, tzinfo=UTC)))
    # Two lessons on one Moscow day count once.
    await gamification.publish(gamification.lesson(6, 303, at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC)))
    await gamification.wait_handled(PROGRESS, 3)
    streak = await gamification.streak(6)
    assert (streak.current_days, streak.longest_days) == (2, 2)
    assert streak.last_activity_date == datetime(2026, 3, 2, tzinfo=UTC).date()


async def test_points_endpoint_reports_counts_and_a_live_streak(api, gamification):
    today_noon = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    for lesson, days_ago in [(401, 2), (402, 1), (403, 0)]:
        await gamification.publish(gamification.lesson(7, lesson, at=today_noon - timedelta(days=days_ago)))
    await gamification.publish(gamification.lesson(8, 501, at=DAY))  # long ago: no live streak
    await gamification.wait_handled(PROGRESS, 4)

    body = (await api.get("/internal/learners/7/points")).json()
    assert (body["lessons_completed"], body["streak_days"], body["longest_streak_days"]) == (3, 3, 3)
    old = (await api.get("/internal/learners/8/points")).json()
    assert (old["streak_days"], old["longest_streak_days"]) == (0, 1)
