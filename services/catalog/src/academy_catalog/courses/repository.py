from __future__ import annotations

from datetime import datetime

from academy_runtime.repository import Repository
from sqlalchemy import ColumnElement, Label, exists, func, select, text
from sqlalchemy.orm import selectinload

from academy_catalog.models import Course, CourseEnrolment, Lesson


def _visible() -> list[ColumnElement[bool]]:
    """What learners see: published and active."""
    return [Course.status == "published", Course.is_active.is_(True)]


class CourseRepository(Repository):
    async def get(self, course_id: int, *, for_update: bool = False) -> Course | None:
        """The course with its lessons; `for_update` locks the course row until the transaction ends."""
        stmt = select(Course).where(Course.id == course_id).options(selectinload(Course.lessons))
        if for_update:
            stmt = stmt.with_for_update(of=Course)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_by_code(self, code: str, *, for_update: bool = False) -> Course | None:
        stmt = select(Course).where(Course.code == code).options(selectinload(Course.lessons))
        if for_update:
            stmt = stmt.with_for_update(of=Course)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def code_taken(self, code: str) -> bool:
        return bool(await self.session.scalar(select(exists().where(Course.code == code))))

    async def defer_lesson_order_checks(self) -> None:
        """Check `UNIQUE (course_id, "order")` at commit, so that lessons can swap positions in between."""
        await self.session.execute(text("SET CONSTRAINTS catalog.uq_lessons_course_id_order DEFERRED"))

    async def page_visible(
        self, *, category: str | None, limit: int, offset: int
    ) -> tuple[list[tuple[Course, int, int]], int]:
        """Published, active courses (top courses first, then the newest), with their lesson counts."""
        filters = _visible()
        if category is not None:
            filters.append(Course.category == category)
        total = await self.session.scalar(select(func.count()).select_from(Course).where(*filters))
        rows = await self.session.execute(
            select(Course, *_lesson_counts())
            .where(*filters)
            # id breaks ties, so pages never overlap or skip a course.
            .order_by(Course.is_top.desc(), Course.published_at.desc(), Course.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [(course, count, free) for course, count, free in rows], total or 0

    async def top_visible(self, *, month_start: datetime) -> Course | None:
        """The course of the month: among flagged courses if any, the most enrolled this month, then the newest.

        Without a flagged course, any visible course competes, and the newest wins when nobody
        enrolled this month.
        """
        enrolments = (
            select(func.count())
            .select_from(CourseEnrolment)
            .where(CourseEnrolment.course_id == Course.id, CourseEnrolment.enrolled_at >= month_start)
            .correlate(Course)
            .scalar_subquery()
        )
        stmt = (
            select(Course)
            .where(*_visible())
            .order_by(
                Course.is_top.desc(),
                enrolments.desc(),
                Course.published_at.desc(),
                Course.id.desc(),
            )
            .limit(1)
            .options(selectinload(Course.lessons))
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()


def _lesson_counts() -> tuple[Label[int], Label[int]]:
    lessons_count = (
        select(func.count(Lesson.id)).where(Lesson.course_id == Course.id).correlate(Course).scalar_subquery()
    )
    free_lessons_count = (
        select(func.count(Lesson.id))
        .where(Lesson.course_id == Course.id, Lesson.is_free.is_(True))
        .correlate(Course)
        .scalar_subquery()
    )
    return lessons_count.label("lessons_count"), free_lessons_count.label("free_lessons_count")
