from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from academy_runtime.db import table_of
from academy_runtime.repository import Repository
from sqlalchemy import (
    ColumnElement,
    Integer,
    ScalarSelect,
    Select,
    String,
    bindparam,
    cast,
    delete,
    func,
    literal,
    select,
    true,
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


def _level_reached(points: ColumnElement[int]) -> ScalarSelect[int]:
    """The highest level whose threshold `points` reach (1 when the table is empty)."""
    return select(func.coalesce(func.max(_LEVELS.c.level), 1)).where(_LEVELS.c.min_points <= points).scalar_subquery()


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

# An award in one statement (it runs for every completed lesson): the ledger row, and only when it was
# inserted (the award key was new), the points added to the totals and the category, the level the total
# reaches and the completions it counts. Data-modifying CTEs all run, on the statement's one snapshot.
_ENTRY = (
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
    .returning(_LEDGER.c.id, _LEDGER.c.user_id, _LEDGER.c.points, _LEDGER.c.category)
    .cte("entry")
)
_CATEGORY_ADD = insert(_CATEGORY_SCORES).from_select(
    ["user_id", "category", "points"],
    select(_ENTRY.c.user_id, _ENTRY.c.category, _ENTRY.c.points).where(_ENTRY.c.category.is_not(None)),
)
_CATEGORY_ADDED = _CATEGORY_ADD.on_conflict_do_update(
    index_elements=[_CATEGORY_SCORES.c.user_id, _CATEGORY_SCORES.c.category],
    set_={"points": _CATEGORY_SCORES.c.points + _CATEGORY_ADD.excluded.points},
).cte("category_added")
# The learner's totals as they are (this transaction's earlier awards included), plus the award's. The new
# values are computed in the SELECT, and the upsert only copies them: a correlated subquery in ON CONFLICT's
# SET inside a CTE is rendered with a FROM of its own by SQLAlchemy (every learner's row, not this one's).
_HELD = _SCORES.alias("held")
_NEW_TOTAL = func.coalesce(_HELD.c.total_points, 0) + _ENTRY.c.points
_TOTAL_ADD = insert(_SCORES).from_select(
    ["user_id", "total_points", "level", "lessons_completed", "courses_completed", "last_event_id"],
    select(
        _ENTRY.c.user_id,
        _NEW_TOTAL,
        _level_reached(_NEW_TOTAL),
        func.coalesce(_HELD.c.lessons_completed, 0) + _LESSONS,
        func.coalesce(_HELD.c.courses_completed, 0) + _COURSES,
        bindparam("p_event_id", type_=String),
    ).select_from(_ENTRY.outerjoin(_HELD, _HELD.c.user_id == _ENTRY.c.user_id)),
)
_TOTAL_ADDED = (
    _TOTAL_ADD.on_conflict_do_update(
        index_elements=[_SCORES.c.user_id],
        set_={
            "total_points": _TOTAL_ADD.excluded.total_points,
            "level": _TOTAL_ADD.excluded.level,
            "lessons_completed": _TOTAL_ADD.excluded.lessons_completed,
            "courses_completed": _TOTAL_ADD.excluded.courses_completed,
            "last_event_id": _TOTAL_ADD.excluded.last_event_id,
            "updated_at": func.now(),
        },
    )
    .returning(_SCORES.c.total_points, _SCORES.c.lessons_completed, _SCORES.c.courses_completed)
    .cte("total_added")
)
# The learner's previous last event (the link the award's v2 event follows): the main SELECT reads the
# table as it was before the CTEs changed it.
_PRIOR = _SCORES.alias("prior")
_AWARD = (
    select(
        _ENTRY.c.id,
        _TOTAL_ADDED.c.total_points,
        _TOTAL_ADDED.c.lessons_completed,
        _TOTAL_ADDED.c.courses_completed,
        _PRIOR.c.last_event_id.label("previous_event_id"),
    )
    .select_from(_ENTRY.join(_TOTAL_ADDED, true()).outerjoin(_PRIOR, _PRIOR.c.user_id == _ENTRY.c.user_id))
    .add_cte(_CATEGORY_ADDED)
)


def award_reading(*columns: ColumnElement[Any]) -> Select[Any]:
    """The award statement (`PointsRepository.award`) also returning `columns` (labelled; `id`,
    `total_points`, `lessons_completed`, `courses_completed` and `previous_event_id` are taken). They are
    read on the statement's snapshot: as the tables were before the award, this transaction's earlier
    statements included. Build it once, at import: pass it to `award(..., statement=)`."""
    return _AWARD.add_columns(*columns)


@dataclass(frozen=True)
class AwardRow:
    """What `PointsRepository.award` stored: the ledger row's id and the learner's totals after it."""

    entry_id: int
    total_points: int
    lessons_completed: int
    courses_completed: int
    previous_event_id: str | None
    """The learner's last v2 event before this award's (None: this is their first)."""
    row: Any
    """The statement's whole row: the extra columns of an `award_reading` statement."""


_TOTAL_POINTS = select(_SCORES.c.total_points).where(_SCORES.c.user_id == _USER)


class PointsRepository(Repository):
    async def award(
        self,
        *,
        user_id: int,
        points: int,
        reason: str,
        award_key: str,
        category: str | None,
        source_event_id: str | None,
        lessons: int = 0,
        courses: int = 0,
        event_id: str,
        statement: Select[Any] | None = None,
    ) -> AwardRow | None:
        """Insert a ledger row and, in the same statement, add its points to the learner's total (with the
        level it reaches) and to `category`'s, and `lessons`/`courses` to their completion counts.

        `event_id` becomes the learner's last v2 event (`swap_last_event_id`'s job, done here too), and the
        one it replaces is returned. None when this award key was already granted: then nothing changes,
        the counts and the last event included. The caller holds the learner's lock (`LEARNER_LOCK`), so
        the totals stay the sums of the ledger. `statement`: an `award_reading` one, to read more in the
        same round trip."""
        row = (
            await self.session.execute(
                _AWARD if statement is None else statement,
                {
                    "p_user_id": user_id,
                    "p_points": points,
                    "p_reason": reason,
                    "p_award_key": award_key,
                    "p_category": category,
                    "p_source_event_id": source_event_id,
                    "p_lessons": lessons,
                    "p_courses": courses,
                    "p_event_id": event_id,
                },
            )
        ).first()
        if row is None:
            return None
        return AwardRow(
            int(row.id),
            int(row.total_points),
            int(row.lessons_completed),
            int(row.courses_completed),
            row.previous_event_id,
            row,
        )

    async def total_points(self, user_id: int) -> int:
        """The learner's points total as stored now (0 without a row); read past the session's identity map,
        which may hold the row as it was before an upsert of this transaction."""
        total = await self.session.scalar(_TOTAL_POINTS, {"p_user_id": user_id})
        return int(total or 0)

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
