from __future__ import annotations

from academy_runtime.db import table_of
from academy_runtime.repository import Repository
from sqlalchemy import (
    ColumnElement,
    Integer,
    ScalarSelect,
    String,
    bindparam,
    cast,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert

from academy_gamification.models import LearnerCategoryScore, LearnerScore, Level, PointsLedgerEntry, Streak

_CATEGORY_SCORES = table_of(LearnerCategoryScore)
_SCORES = table_of(LearnerScore)
_LEVELS = table_of(Level)
_LEDGER = table_of(PointsLedgerEntry)

# The statements every award runs are built once, with bound parameters: building one per call (its
# construction and cache key) cost more CPU than PostgreSQL spent running it (pipeline bench).
_USER = bindparam("p_user_id", type_=Integer)
_POINTS = bindparam("p_points", type_=Integer)
_CATEGORY = bindparam("p_category", type_=String)

_ADD_ENTRY = (
    insert(_LEDGER)
    .values(
        user_id=_USER,
        points=_POINTS,
        reason=bindparam("p_reason", type_=String),
        award_key=bindparam("p_award_key", type_=String),
        category=_CATEGORY,
        source_event_id=bindparam("p_source_event_id", type_=String),
    )
    .on_conflict_do_nothing(index_elements=[_LEDGER.c.award_key])
    .returning(_LEDGER.c.id)
)


def _level_reached(points: ColumnElement[int]) -> ScalarSelect[int]:
    """The highest level whose threshold `points` reach (1 when the table is empty)."""
    return select(func.coalesce(func.max(_LEVELS.c.level), 1)).where(_LEVELS.c.min_points <= points).scalar_subquery()


_ADD_TO_TOTAL = (
    insert(_SCORES)
    .values(user_id=_USER, total_points=_POINTS, level=_level_reached(_POINTS))
    .on_conflict_do_update(
        index_elements=[_SCORES.c.user_id],
        set_={
            "total_points": _SCORES.c.total_points + _POINTS,
            "level": _level_reached(_SCORES.c.total_points + _POINTS),
            "updated_at": func.now(),
        },
    )
    .returning(_SCORES.c.total_points)
)

_ADD_TO_CATEGORY = (
    insert(_CATEGORY_SCORES)
    .values(user_id=_USER, category=_CATEGORY, points=_POINTS)
    .on_conflict_do_update(
        index_elements=[_CATEGORY_SCORES.c.user_id, _CATEGORY_SCORES.c.category],
        set_={"points": _CATEGORY_SCORES.c.points + _POINTS},
    )
)

_LESSONS = bindparam("p_lessons", type_=Integer)
_COURSES = bindparam("p_courses", type_=Integer)
_ADD_COMPLETIONS = (
    insert(_SCORES)
    .values(user_id=_USER, lessons_completed=_LESSONS, courses_completed=_COURSES)
    .on_conflict_do_update(
        index_elements=[_SCORES.c.user_id],
        set_={
            "lessons_completed": _SCORES.c.lessons_completed + _LESSONS,
            "courses_completed": _SCORES.c.courses_completed + _COURSES,
            "updated_at": func.now(),
        },
    )
    .returning(_SCORES.c.lessons_completed, _SCORES.c.courses_completed)
)

# The row as it was before the update (the subquery's snapshot), joined to the row being updated.
_BEFORE = (
    select(_SCORES.c.user_id.label("uid"), _SCORES.c.last_event_id.label("previous"))
    .where(_SCORES.c.user_id == _USER)
    .subquery("before")
)
_SWAP_LAST_EVENT_ID = (
    update(_SCORES)
    .where(_SCORES.c.user_id == _BEFORE.c.uid)
    .values(last_event_id=bindparam("p_event_id", type_=String))
    .returning(_BEFORE.c.previous)
)

_TOTAL_POINTS = select(_SCORES.c.total_points).where(_SCORES.c.user_id == _USER)


class PointsRepository(Repository):
    async def add_entry(
        self,
        *,
        user_id: int,
        points: int,
        reason: str,
        award_key: str,
        category: str | None,
        source_event_id: str | None,
    ) -> int | None:
        """Insert a ledger row; None when this award key was already granted."""
        result = await self.session.execute(
            _ADD_ENTRY,
            {
                "p_user_id": user_id,
                "p_points": points,
                "p_reason": reason,
                "p_award_key": award_key,
                "p_category": category,
                "p_source_event_id": source_event_id,
            },
        )
        entry_id: int | None = result.scalar_one_or_none()
        return entry_id

    async def total_points(self, user_id: int) -> int:
        """The learner's points total as stored now (0 without a row); read past the session's identity map,
        which may hold the row as it was before an upsert of this transaction."""
        total = await self.session.scalar(_TOTAL_POINTS, {"p_user_id": user_id})
        return int(total or 0)

    async def add_to_total(self, user_id: int, points: int) -> int:
        """Add `points` to the learner's total (creating the row), set the level it reaches; the new total.

        The caller holds the learner's lock and has just inserted the ledger row these points are (a
        granted award key is never granted again), so the total stays the sum of the ledger without
        summing it: one statement instead of three (sum, level, save).
        """
        result = await self.session.execute(_ADD_TO_TOTAL, {"p_user_id": user_id, "p_points": points})
        return int(result.scalar_one())

    async def add_to_category(self, user_id: int, category: str, points: int) -> None:
        """Add `points` to the learner's points in `category` (same rule as `add_to_total`)."""
        await self.session.execute(_ADD_TO_CATEGORY, {"p_user_id": user_id, "p_category": category, "p_points": points})

    async def add_completions(self, user_id: int, *, lessons: int = 0, courses: int = 0) -> tuple[int, int]:
        """Count a newly recorded lesson or course completion; the learner's (lessons, courses) now. The
        caller holds the learner's lock and has just inserted the completion row (a fact counted once)."""
        result = await self.session.execute(
            _ADD_COMPLETIONS, {"p_user_id": user_id, "p_lessons": lessons, "p_courses": courses}
        )
        row = result.one()
        return int(row.lessons_completed), int(row.courses_completed)

    async def swap_last_event_id(self, user_id: int, event_id: str) -> str | None:
        """Make `event_id` the learner's last v2 event and return the one it replaces (None: the first).
        One statement: the old value is read from the row as it was before the update (the caller holds
        the learner's lock)."""
        swapped = await self.session.execute(_SWAP_LAST_EVENT_ID, {"p_user_id": user_id, "p_event_id": event_id})
        row = swapped.first()
        if row is not None:
            previous: str | None = row.previous
            return previous
        await self.save_last_event_id(user_id, event_id)
        return None

    async def score(self, user_id: int) -> LearnerScore | None:
        return await self.session.get(LearnerScore, user_id)

    async def save_last_event_id(self, user_id: int, event_id: str) -> None:
        await self.session.execute(
            insert(LearnerScore)
            .values(user_id=user_id, last_event_id=event_id)
            .on_conflict_do_update(index_elements=[LearnerScore.user_id], set_={"last_event_id": event_id})
        )

    async def streak(self, user_id: int) -> Streak | None:
        return await self.session.get(Streak, user_id)

    async def detach_ledger(self, user_id: int) -> int:
        """Keep the learner's ledger rows (their points stay in the platform's totals) but make them nobody's:
        `user_id` null, `award_key` `erased:<row id>` (the key named the learner, and stays unique), no
        `source_event_id` (an id other services' records could link back to the learner), `created_at`
        cut to its UTC day (an exact instant could be matched with another record of the same moment).
        How many rows were detached."""
        result = await self.session.execute(
            update(PointsLedgerEntry)
            .where(PointsLedgerEntry.user_id == user_id)
            .values(
                user_id=None,
                award_key=literal("erased:") + cast(PointsLedgerEntry.id, String),
                source_event_id=None,
                created_at=func.date_trunc("day", PointsLedgerEntry.created_at, "UTC"),
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def delete_scores(self, user_id: int) -> None:
        """Delete the learner's totals (points, level, counts, chain of events) and category scores."""
        await self.session.execute(delete(LearnerScore).where(LearnerScore.user_id == user_id))
        await self.session.execute(delete(LearnerCategoryScore).where(LearnerCategoryScore.user_id == user_id))
