from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, RowMapping, and_, case, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_progress.models import CourseProjection, LessonProjection, UserCourse, UserProgress


class EnrolmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_if_absent(
        self,
        *,
        user_id: int,
        course_id: int,
        source: str,
        purchase_id: int | None = None,
        enrolled_at: datetime | None = None,
    ) -> UserCourse | None:
        """Enrol the learner; None when they already are (concurrent enrolments included)."""
        values: dict[str, Any] = {"user_id": user_id, "course_id": course_id, "source": source}
        if purchase_id is not None:
            values["purchase_id"] = purchase_id
        if enrolled_at is not None:
            values["purchased_at"] = enrolled_at
        result = await self.session.execute(
            insert(UserCourse)
            .values(values)
            .on_conflict_do_nothing(index_elements=[UserCourse.user_id, UserCourse.course_id])
            .returning(UserCourse)
        )
        return result.scalar_one_or_none()

    async def get(self, *, user_id: int, course_id: int) -> UserCourse | None:
        result = await self.session.execute(
            select(UserCourse).where(UserCourse.user_id == user_id, UserCourse.course_id == course_id)
        )
        return result.scalar_one_or_none()

    async def courses_with_progress(self, user_id: int) -> Sequence[RowMapping]:
        """The seed's example query 1, on the projection, with its two traps closed.

        - Lessons are LEFT-joined: a course whose lessons are not known yet (or has none) is still
          listed, at 0 %, instead of vanishing from the inner join or dividing by zero.
        - Progress rows are joined per lesson *and* per learner, completed ones only: UNIQUE
          (user_id, lesson_id) makes that at most one row per lesson, so nothing is counted twice,
          and other learners' rows and lessons no longer in the course are not counted at all.
        """
        uc, cp, lp, up = UserCourse, CourseProjection, LessonProjection, UserProgress
        total = func.count(lp.lesson_id)
        completed = func.count(up.id)
        percent = case((total == 0, 0), else_=func.round(completed * 100.0 / total)).cast(Integer)
        stmt = (
            select(
                uc.course_id,
                cp.title,
                cp.category,
                uc.source,
                uc.purchased_at.label("enrolled_at"),
                uc.is_completed,
                uc.completed_at,
                total.label("total_lessons"),
                completed.label("completed_lessons"),
                percent.label("progress_percent"),
            )
            .select_from(uc)
            .outerjoin(cp, cp.course_id == uc.course_id)
            .outerjoin(lp, lp.course_id == uc.course_id)
            .outerjoin(up, and_(up.user_id == uc.user_id, up.lesson_id == lp.lesson_id, up.completed.is_(True)))
            .where(uc.user_id == user_id)
            # Grouped by the primary keys, so every other selected column is determined by them.
            .group_by(uc.id, cp.course_id)
            .order_by(uc.purchased_at.desc(), uc.course_id)
        )
        return (await self.session.execute(stmt)).mappings().all()
