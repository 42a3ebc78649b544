from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from academy_progress.reports.repository import ReportRepository
from academy_progress.reports.schemas import InactiveLearner, LearnerIdsPage, PopularCourse


async def popular_courses(session: AsyncSession, *, limit: int) -> list[PopularCourse]:
    rows = await ReportRepository(session).popular_courses(limit)
    return [PopularCourse.model_validate(row) for row in rows]


async def inactive_learners(
    session: AsyncSession, *, days: int, limit: int, after_user_id: int = 0, now: datetime | None = None
) -> list[InactiveLearner]:
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    rows = await ReportRepository(session).inactive_learners(since=since, limit=limit, after_user_id=after_user_id)
    return [InactiveLearner.model_validate(row) for row in rows]


async def enrolled_learner_ids(
    session: AsyncSession, *, course_ids: list[int], category: str | None, after_user_id: int, limit: int
) -> LearnerIdsPage:
    """A page of the ids of the learners of any of `course_ids`, or of the category `category` (a broadcast's
    segment, issue 12); `next_after_user_id` is null on the last page."""
    ids = list(
        await ReportRepository(session).enrolled_learner_ids(
            course_ids=course_ids, category=category, after_user_id=after_user_id, limit=limit
        )
    )
    return LearnerIdsPage(user_ids=ids, next_after_user_id=ids[-1] if len(ids) == limit else None)
