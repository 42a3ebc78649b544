"""Keeping the course projection in step with the catalog's events."""

from __future__ import annotations

from datetime import datetime

from academy_contracts.catalog import CourseArchivedV1, CourseSnapshot
from sqlalchemy.ext.asyncio import AsyncSession

from academy_progress import metrics
from academy_progress.lessons.service import complete_finished_enrolments
from academy_progress.projections.repository import CourseProjectionRepository


async def apply_course_snapshot(session: AsyncSession, snapshot: CourseSnapshot, *, version_at: datetime) -> bool:
    """Project a published or updated course; a snapshot older than the one held is ignored.

    A stored snapshot may have removed the only lessons some learners had left: their enrolments are
    completed here (and `course_completed` published), in the same transaction.
    """
    stored: bool = await CourseProjectionRepository(session).upsert_snapshot(snapshot, version_at=version_at)
    metrics.PROJECTION_UPDATES.labels(snapshot.event_type, "applied" if stored else "stale").inc()
    if stored:
        await complete_finished_enrolments(session, snapshot.course_id)
    return stored


async def apply_course_archived(session: AsyncSession, event: CourseArchivedV1) -> bool:
    repository = CourseProjectionRepository(session)
    stored: bool = await repository.mark_archived(event.course_id, archived_at=event.archived_at)
    metrics.PROJECTION_UPDATES.labels(event.event_type, "applied" if stored else "stale").inc()
    return stored
