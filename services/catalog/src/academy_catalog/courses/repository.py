from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from academy_catalog.models import Course, Lesson


class CourseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, course: Course) -> Course:
        self.session.add(course)
        await self.session.flush()
        return course

    async def get(self, course_id: int, *, for_update: bool = False) -> Course | None:
        """The course with its lessons; `for_update` locks the course row until the transaction ends."""
        stmt = select(Course).where(Course.id == course_id).options(selectinload(Course.lessons))
        if for_update:
            stmt = stmt.with_for_update(of=Course)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def page_visible(
        self, *, category: str | None, limit: int, offset: int
    ) -> tuple[list[tuple[Course, int]], int]:
        """Published, active courses (top courses first, then the newest), with their lesson counts."""
        filters = [Course.status == "published", Course.is_active.is_(True)]
        if category is not None:
            filters.append(Course.category == category)
        total = await self.session.scalar(select(func.count()).select_from(Course).where(*filters))
        lessons_count = (
            select(func.count(Lesson.id)).where(Lesson.course_id == Course.id).correlate(Course).scalar_subquery()
        )
        rows = await self.session.execute(
            select(Course, lessons_count.label("lessons_count"))
            .where(*filters)
            # id breaks ties, so pages never overlap or skip a course.
            .order_by(Course.is_top.desc(), Course.published_at.desc(), Course.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [(course, count) for course, count in rows], total or 0
