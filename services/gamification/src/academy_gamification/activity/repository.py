from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from academy_runtime.db import table_of, transaction_local
from academy_runtime.repository import Repository
from sqlalchemy import Date, DateTime, Integer, ScalarSelect, bindparam, cast, delete, exists, func, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert

from academy_gamification.activity.streaks import StreakRuns
from academy_gamification.models import (
    CourseCompletion,
    ErasedLearner,
    LearnerCategoryScore,
    LearnerProfile,
    LearnerScore,
    LessonCompletion,
    Streak,
    UserAchievement,
)
from academy_gamification.points.repository import award_reading

_COURSES_DONE = table_of(CourseCompletion)
_LESSONS_DONE = table_of(LessonCompletion)
_STREAKS = table_of(Streak)

# Built once, with bound parameters: the statements of every completed lesson (see points.repository).
_USER = bindparam("p_user_id", type_=Integer)
_ERASED = table_of(ErasedLearner)
# The fact, unless the learner was erased: the tombstone is read by this statement, which runs after the
# learner's lock was taken (an erasure committed while the lock was awaited is seen), so a completion
# needs no read of its own for it.
_ADD_LESSON_COMPLETION = (
    insert(_LESSONS_DONE)
    .from_select(
        ["user_id", "lesson_id", "course_id", "completed_at"],
        select(
            _USER,
            bindparam("p_lesson_id", type_=Integer),
            bindparam("p_course_id", type_=Integer),
            bindparam("p_completed_at", type_=DateTime(timezone=True)),
        ).where(~exists().where(_ERASED.c.user_id == _USER)),
    )
    .on_conflict_do_nothing(index_elements=[_LESSONS_DONE.c.user_id, _LESSONS_DONE.c.lesson_id])
    .returning(_LESSONS_DONE.c.lesson_id)
)
# A batch's lessons in one statement (`add_lesson_completions`): the same, over arrays of the facts.
_FACTS = (
    func.unnest(
        bindparam("p_user_ids", type_=ARRAY(Integer)),
        bindparam("p_lesson_ids", type_=ARRAY(Integer)),
        bindparam("p_course_ids", type_=ARRAY(Integer)),
        bindparam("p_completed_ats", type_=ARRAY(DateTime(timezone=True))),
    )
    .table_valued("user_id", "lesson_id", "course_id", "completed_at")
    .render_derived(name="fact")
)
_ADD_LESSON_COMPLETIONS = (
    insert(_LESSONS_DONE)
    .from_select(
        ["user_id", "lesson_id", "course_id", "completed_at"],
        select(_FACTS.c.user_id, _FACTS.c.lesson_id, _FACTS.c.course_id, _FACTS.c.completed_at).where(
            ~exists().where(_ERASED.c.user_id == _FACTS.c.user_id)
        ),
    )
    .on_conflict_do_nothing(index_elements=[_LESSONS_DONE.c.user_id, _LESSONS_DONE.c.lesson_id])
    .returning(_LESSONS_DONE.c.user_id, _LESSONS_DONE.c.lesson_id)
)
_RECORDED_AHEAD = "academy_gamification.lesson_completions_recorded"
"""`transaction_local` name: {(user id, lesson id): whether `add_lesson_completions` recorded it}."""
_COURSES_BY_CATEGORY = (
    select(_COURSES_DONE.c.category, func.count().label("courses"))
    .where(_COURSES_DONE.c.user_id == _USER)
    .group_by(_COURSES_DONE.c.category)
)
_STREAK_VALUES = {
    "current_days": bindparam("p_current_days", type_=Integer),
    "longest_days": bindparam("p_longest_days", type_=Integer),
    "last_activity_date": bindparam("p_last_day", type_=Date),
}
_SAVE_STREAK = (
    insert(_STREAKS)
    .values(user_id=_USER, **_STREAK_VALUES)
    .on_conflict_do_update(index_elements=[_STREAKS.c.user_id], set_=_STREAK_VALUES)
)
_STREAK = select(_STREAKS.c.current_days, _STREAKS.c.longest_days, _STREAKS.c.last_activity_date).where(
    _STREAKS.c.user_id == _USER
)


def _streak_column(column: str) -> ScalarSelect[Any]:
    return select(_STREAKS.c[column]).where(_STREAKS.c.user_id == _USER).scalar_subquery()


_COUNTED = _COURSES_BY_CATEGORY.subquery("counted")
_UNLOCKS = table_of(UserAchievement)
_SCORES = table_of(LearnerScore)
_PROFILES = table_of(LearnerProfile)
_CATEGORY_SCORES = table_of(LearnerCategoryScore)
# What a completed lesson reads of the learner, in one statement instead of three: the stored streak,
# their completed courses per category and the achievements they have.
_FACT_COLUMNS = (
    _streak_column("current_days").label("current_days"),
    _streak_column("longest_days").label("longest_days"),
    _streak_column("last_activity_date").label("last_day"),
    select(func.coalesce(func.jsonb_object_agg(_COUNTED.c.category, _COUNTED.c.courses), cast({}, JSONB)))
    .scalar_subquery()
    .label("courses_by_category"),
    select(func.coalesce(func.array_agg(_UNLOCKS.c.achievement_id), cast([], ARRAY(Integer))))
    .where(_UNLOCKS.c.user_id == _USER)
    .scalar_subquery()
    .label("earned"),
    # Where the learner stands on the leaderboards (`leaderboards.repository.standing_of`), but the total.
    select(_PROFILES.c.city_key).where(_PROFILES.c.user_id == _USER).scalar_subquery().label("city_key"),
    select(
        func.coalesce(func.jsonb_object_agg(_CATEGORY_SCORES.c.category, _CATEGORY_SCORES.c.points), cast({}, JSONB))
    )
    .where(_CATEGORY_SCORES.c.user_id == _USER, _CATEGORY_SCORES.c.points > 0)
    .scalar_subquery()
    .label("category_points"),
)
_LEARNER_FACTS = select(
    *_FACT_COLUMNS,
    select(_SCORES.c.total_points).where(_SCORES.c.user_id == _USER).scalar_subquery().label("total_points"),
)
AWARD_READING_FACTS = award_reading(*_FACT_COLUMNS)
"""A completed lesson's award and the learner's facts in one statement (`ActivityRepository.facts_around_award`)."""


@dataclass(frozen=True)
class LearnerFacts:
    """What the rules of a completion read: the stored streak (None: none yet), completed courses per
    category, and the ids of the achievements the learner has; and where the learner stands on the
    leaderboards as the facts were read (points total, city, points per category)."""

    streak: StreakRuns | None
    courses_by_category: dict[str, int]
    earned: frozenset[int]
    total_points: int
    city_key: str | None
    category_points: dict[str, int]
    """Points per category, of the categories where the learner has any."""


def _facts(row: Any, *, total_points: int) -> LearnerFacts:
    """LearnerFacts from a row with the columns of `_FACT_COLUMNS`."""
    streak = None if row.current_days is None else StreakRuns(row.current_days, row.longest_days, row.last_day)
    return LearnerFacts(
        streak,
        {str(category): int(count) for category, count in row.courses_by_category.items()},
        frozenset(row.earned),
        total_points=total_points,
        city_key=row.city_key,
        category_points={str(category): int(points) for category, points in row.category_points.items()},
    )


class ActivityRepository(Repository):
    """The projections of progress events: one row per fact, whatever the delivery."""

    async def add_lesson_completion(
        self, *, user_id: int, lesson_id: int, course_id: int, completed_at: datetime
    ) -> bool:
        """Record the fact; False when this learner's lesson was already recorded (any event id), or the
        learner was erased (ask it holding the learner's lock, `LEARNER_LOCK`, which the erasure takes too)."""
        ahead = self._recorded_ahead()
        if (user_id, lesson_id) in ahead:
            # Recorded with its batch (`add_lesson_completions`): the first to ask is the event that did it.
            return ahead.pop((user_id, lesson_id))
        result = await self.session.execute(
            _ADD_LESSON_COMPLETION,
            {"p_user_id": user_id, "p_lesson_id": lesson_id, "p_course_id": course_id, "p_completed_at": completed_at},
        )
        return result.scalar_one_or_none() is not None

    async def add_lesson_completions(self, facts: list[tuple[int, int, int, datetime]]) -> None:
        """Record a batch's completed lessons, (user id, lesson id, course id, completed at) each in the
        order their events are handled, in one statement; `add_lesson_completion` then answers each fact's
        first event from what this recorded, without a statement of its own (a second event of the same
        fact records it again, and finds it there). As `add_lesson_completion`, nothing is recorded for an
        erased learner; ask it holding every learner's lock (`LEARNER_LOCK.hold_all`)."""
        if not facts:
            return
        users, lessons, courses, times = (list(column) for column in zip(*facts, strict=True))
        result = await self.session.execute(
            _ADD_LESSON_COMPLETIONS,
            {"p_user_ids": users, "p_lesson_ids": lessons, "p_course_ids": courses, "p_completed_ats": times},
        )
        recorded = {(row.user_id, row.lesson_id) for row in result}
        ahead = self._recorded_ahead()
        for user_id, lesson_id, _, _ in facts:
            ahead.setdefault((user_id, lesson_id), (user_id, lesson_id) in recorded)

    def _recorded_ahead(self) -> dict[tuple[int, int], bool]:
        """What `add_lesson_completions` recorded in the session's current transaction and no handler has
        asked about yet: {(user id, lesson id): recorded}."""
        return transaction_local(self.session, _RECORDED_AHEAD, dict)

    async def add_course_completion(
        self, *, user_id: int, course_id: int, category: str, completed_at: datetime
    ) -> bool:
        result = await self.session.execute(
            insert(CourseCompletion)
            .values(user_id=user_id, course_id=course_id, category=category, completed_at=completed_at)
            .on_conflict_do_nothing(index_elements=[CourseCompletion.user_id, CourseCompletion.course_id])
            .returning(CourseCompletion.course_id)
        )
        return result.scalar_one_or_none() is not None

    async def learner_facts(self, user_id: int) -> LearnerFacts:
        """The learner's streak, courses per category, achievements and standing, in one statement (past the
        session's identity map). The caller holds the learner's lock."""
        row = (await self.session.execute(_LEARNER_FACTS, {"p_user_id": user_id})).one()
        return _facts(row, total_points=int(row.total_points or 0))

    @staticmethod
    def facts_around_award(row: Any, *, points: int, category: str | None) -> LearnerFacts:
        """The learner's facts after an award of `points` in `category`, from the row of its
        `AWARD_READING_FACTS` statement: its columns were read before the award, and its total after it."""
        facts = _facts(row, total_points=int(row.total_points))
        if category is not None and points:
            facts.category_points[category] = facts.category_points.get(category, 0) + points
            if facts.category_points[category] <= 0:
                del facts.category_points[category]
        return facts

    async def lessons_completed(self, user_id: int) -> int:
        stmt = select(func.count()).select_from(LessonCompletion).where(LessonCompletion.user_id == user_id)
        return int(await self.session.scalar(stmt) or 0)

    async def courses_by_category(self, user_id: int) -> dict[str, int]:
        rows = await self.session.execute(_COURSES_BY_CATEGORY, {"p_user_id": user_id})
        return {row.category: row.courses for row in rows}

    async def study_days(self, user_id: int, time_zone: str) -> list[date]:
        """The distinct calendar days (in `time_zone`) on which the learner completed a lesson, in order."""
        day = cast(func.timezone(time_zone, LessonCompletion.completed_at), Date)
        stmt = select(day).where(LessonCompletion.user_id == user_id).distinct().order_by(day)
        return list((await self.session.execute(stmt)).scalars())

    async def save_streak(self, user_id: int, *, current_days: int, longest_days: int, last_day: date | None) -> None:
        await self.session.execute(
            _SAVE_STREAK,
            {
                "p_user_id": user_id,
                "p_current_days": current_days,
                "p_longest_days": longest_days,
                "p_last_day": last_day,
            },
        )

    async def streak(self, user_id: int) -> Streak | None:
        return await self.session.get(Streak, user_id)

    async def streak_runs(self, user_id: int) -> StreakRuns | None:
        """The stored streak (None: none yet), read past the session's identity map."""
        row = (await self.session.execute(_STREAK, {"p_user_id": user_id})).first()
        return None if row is None else StreakRuns(row.current_days, row.longest_days, row.last_activity_date)

    async def delete_learner(self, user_id: int) -> None:
        """Delete the learner's lesson and course completions and their streak."""
        for table in (LessonCompletion, CourseCompletion, Streak):
            await self.session.execute(delete(table).where(table.user_id == user_id))
