"""What a completed lesson or course changes: the projection, points, counts, streak, achievements.

Every step is keyed by the fact (learner + lesson, learner + course), not by the event, and every
derived value is recomputed from the projections: the same fact under another event id changes
nothing, and facts in any order end in the same state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from academy_contracts.gamification import PointsAwardedFor
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gamification.achievements.service import LearnerCounts, unlock_earned
from academy_gamification.activity.repository import AWARD_READING_FACTS, ActivityRepository
from academy_gamification.activity.streaks import StreakRuns, extend_runs, streak_runs
from academy_gamification.leaderboards.board import Board
from academy_gamification.leaderboards.repository import standing_of
from academy_gamification.learners.repository import LEARNER_LOCK
from academy_gamification.learners.service import learner_erased
from academy_gamification.points import service as points
from academy_gamification.settings import GamificationSettings


async def record_lesson_completed(
    session: AsyncSession,
    settings: GamificationSettings,
    *,
    user_id: int,
    lesson_id: int,
    course_id: int,
    category: str,
    completed_at: datetime,
    source_event_id: str,
) -> list[tuple[Board, int]] | Literal[False] | None:
    """The learner's standing on the leaderboards after it (`leaderboards.repository.standing_of`; None when
    an achievement's points changed it after it was read: read it again), or False when this lesson was
    already recorded for the learner, or the learner was erased (nothing changes then)."""
    await LEARNER_LOCK.hold(session, user_id)
    repo = ActivityRepository(session)
    if not await repo.add_lesson_completion(  # also refused when the learner was erased
        user_id=user_id, lesson_id=lesson_id, course_id=course_id, completed_at=completed_at
    ):
        return False
    awarded = await points.award_counting(
        session,
        user_id=user_id,
        points=settings.lesson_points,
        reason="lesson_completed",
        award_key=f"lesson:{user_id}:{lesson_id}",
        awarded_for=PointsAwardedFor(kind="lesson", id=lesson_id),  # lesson_completed.v1 does not name it
        category=category,
        source_event_id=source_event_id,
        lessons=1,
        statement=AWARD_READING_FACTS,  # the learner's facts in the award's round trip
    )
    lessons, courses = awarded.counts
    if awarded.row is not None:
        facts = repo.facts_around_award(awarded.row, points=settings.lesson_points, category=category)
    else:  # granted before: nothing was read with it
        facts = await repo.learner_facts(user_id)
    longest_streak = await _extend_streak(
        repo, settings, user_id, completed_at, stored=facts.streak, first_lesson=lessons == 1
    )
    counts = LearnerCounts(
        lessons_completed=lessons,
        courses_completed=courses,
        courses_by_category=facts.courses_by_category,
        longest_streak_days=longest_streak,
    )
    if await unlock_earned(session, user_id, counts, source_event_id=source_event_id, earned=facts.earned):
        return None
    return standing_of(facts.total_points, facts.city_key, facts.category_points)


async def _extend_streak(
    repo: ActivityRepository,
    settings: GamificationSettings,
    user_id: int,
    completed_at: datetime,
    *,
    stored: StreakRuns | None,
    first_lesson: bool,
) -> int:
    """Add the day of a newly recorded lesson to the learner's streak (`stored`: as it was before this
    lesson, read by the caller); the longest streak now.

    A lesson on the last study day or after it extends the stored runs (`streak_runs` of the days so far,
    plus one day at the end, gives the same): one read, at most one write. A late lesson from an earlier
    day may join two runs, so then, and when no streak is stored for a learner who has lessons, the streak
    is recomputed from every study day.
    """
    day = completed_at.astimezone(settings.streak_zone).date()
    if stored is not None and stored.last_day is not None and day >= stored.last_day:
        runs = extend_runs(stored, day)
        if runs == stored:
            return runs.longest_days
    elif stored is None and first_lesson:
        runs = StreakRuns(current_days=1, longest_days=1, last_day=day)
    else:
        runs = streak_runs(await repo.study_days(user_id, settings.streak_timezone))
    await repo.save_streak(
        user_id, current_days=runs.current_days, longest_days=runs.longest_days, last_day=runs.last_day
    )
    return runs.longest_days


async def record_course_completed(
    session: AsyncSession,
    settings: GamificationSettings,
    *,
    user_id: int,
    course_id: int,
    course_title: str | None,
    category: str,
    completed_at: datetime,
    source_event_id: str,
) -> bool:
    """False when this course was already recorded for the learner (whichever version of the event
    recorded it: `course_title` is null from a v1), or the learner was erased."""
    await LEARNER_LOCK.hold(session, user_id)
    if await learner_erased(session, user_id):
        return False
    repo = ActivityRepository(session)
    if not await repo.add_course_completion(
        user_id=user_id, course_id=course_id, category=category, completed_at=completed_at
    ):
        return False
    awarded = await points.award_counting(
        session,
        user_id=user_id,
        points=settings.course_points,
        reason="course_completed",
        award_key=f"course:{user_id}:{course_id}",
        awarded_for=PointsAwardedFor(kind="course", id=course_id, title=course_title),
        category=category,
        source_event_id=source_event_id,
        courses=1,
    )
    lessons, courses = awarded.counts
    streak = await repo.streak_runs(user_id)
    counts = LearnerCounts(
        lessons_completed=lessons,
        courses_completed=courses,
        courses_by_category=await repo.courses_by_category(user_id),
        longest_streak_days=streak.longest_days if streak else 0,
    )
    await unlock_earned(session, user_id, counts, source_event_id=source_event_id)
    return True


async def learner_counts(session: AsyncSession, user_id: int) -> LearnerCounts:
    repo = ActivityRepository(session)
    by_category = await repo.courses_by_category(user_id)
    streak = await repo.streak(user_id)
    return LearnerCounts(
        lessons_completed=await repo.lessons_completed(user_id),
        courses_completed=sum(by_category.values()),
        courses_by_category=by_category,
        longest_streak_days=streak.longest_days if streak else 0,
    )
