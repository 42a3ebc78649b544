from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from academy_progress.reports.repository import ReportRepository
from academy_progress.reports.schemas import InactiveLearner, PopularCourse


async def popular_courses(session: AsyncSession, *, limit: int) -> list[PopularCourse]:
    rows = await ReportRepository(session).popular_courses(limit)
    return [PopularCourse.model_validate(row) for row in rows]


async def inactive_learners(
    session: AsyncSession, *, days: int, limit: int, after_user_id: int = 0, now: datetime | None = None
) -> list[InactiveLearner]:
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    rows = await ReportRepository(session).inactive_learners(since=since, limit=limit, after_user_id=after_user_id)
    return [InactiveLearner.model_validate(row) for row in rows]
