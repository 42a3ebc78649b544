"""Writes of the course projection. Every write is an upsert guarded by the catalog's time, so the
result does not depend on the order (or the number of times) the catalog's events arrive in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from academy_contracts.catalog import CourseLesson, CourseSnapshot
from academy_runtime.projections import upsert_if_newer
from academy_runtime.repository import Repository
from sqlalchemy import and_, delete, func
from sqlalchemy.dialects.postgresql import insert

from academy_progress.models import CourseProjection, LessonProjection


class CourseProjectionRepository(Repository):
    async def get(self, course_id: int) -> CourseProjection | None:
        return await self.session.get(CourseProjection, course_id)

    async def upsert_snapshot(self, snapshot: CourseSnapshot, *, version_at: datetime) -> bool:
        """Store the snapshot unless the projection holds a newer (or the same) one; True when stored."""
        values = {
            "course_id": snapshot.course_id,
            "title": snapshot.title,
            "category": snapshot.category,
            "price": snapshot.price.amount,
            "currency": snapshot.price.currency,
            "duration_hours": snapshot.duration_hours,
            "is_active": snapshot.is_active,
            "lessons_total": len(snapshot.lessons),
            "updated_at": version_at,
        }
        stored = await upsert_if_newer(
            self.session,
            CourseProjection,
            values,
            key=["course_id"],
            version="updated_at",  # null on a tombstone: any snapshot fills it
            set_=lambda new: {
                # Archiving is final: a snapshot, even a newer one, never makes an archived course visible.
                "is_active": and_(new.is_active, CourseProjection.archived_at.is_(None)),
                "projected_at": func.now(),
            },
        )
        if stored:
            await self._replace_lessons(snapshot.course_id, snapshot.lessons)
        return stored

    async def mark_archived(self, course_id: int, *, archived_at: datetime) -> bool:
        """Archive the course (a tombstone if its snapshot has not arrived yet); True unless already archived."""
        tombstone = insert(CourseProjection).values(course_id=course_id, is_active=False, archived_at=archived_at)
        upsert = tombstone.on_conflict_do_update(
            index_elements=[CourseProjection.course_id],
            set_={"archived_at": tombstone.excluded.archived_at, "is_active": False, "projected_at": func.now()},
            where=CourseProjection.archived_at.is_(None),
        ).returning(CourseProjection.course_id)
        return (await self.session.execute(upsert)).first() is not None

    async def _replace_lessons(self, course_id: int, lessons: Sequence[CourseLesson]) -> None:
        keep = [lesson.lesson_id for lesson in lessons]
        await self.session.execute(
            delete(LessonProjection).where(
                LessonProjection.course_id == course_id, LessonProjection.lesson_id.not_in(keep)
            )
        )
        if not lessons:
            return
        stmt = insert(LessonProjection).values(
            [
                {
                    "lesson_id": lesson.lesson_id,
                    "course_id": course_id,
                    "order": lesson.order,
                    "title": lesson.title,
                    "is_free": lesson.is_free,
                    "video_duration": lesson.video_duration,
                }
                for lesson in lessons
            ]
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[LessonProjection.lesson_id],
                set_={
                    name: stmt.excluded[name] for name in ("course_id", "order", "title", "is_free", "video_duration")
                },
            )
        )
