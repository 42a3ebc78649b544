"""The seed's example queries 2 and 3, on the progress schema."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from academy_runtime.repository import Repository
from sqlalchemy import RowMapping, Select, exists, func, select

from academy_progress.models import CourseProjection, ErasedEnrolments, UserCourse, UserProgress


def inactive_learners_query(since: datetime) -> Select[int, datetime, datetime | None]:
    """Learners with an unfinished enrolment and no lesson completed since `since`, once each (seed query 3).

    The seed's `SELECT DISTINCT ... LEFT JOIN user_progress ... WHERE up.id IS NULL` becomes NOT EXISTS
    (each learner once however many enrolments, and completions in any course count as activity);
    only completed rows count, and a completed enrolment alone keeps nobody on the list. Besides the
    learner: `last_enrolled_at`, the latest unfinished enrolment, and `last_activity_at`, the latest
    completion ever (null when none).
    """
    uc, up = UserCourse, UserProgress
    completed_recently = exists().where(up.user_id == uc.user_id, up.completed.is_(True), up.completed_at >= since)
    last_completion = (
        select(func.max(up.completed_at))
        .where(up.user_id == uc.user_id, up.completed.is_(True))
        .correlate(uc)
        .scalar_subquery()
    )
    return (
        select(
            uc.user_id,
            func.max(uc.purchased_at).label("last_enrolled_at"),
            last_completion.label("last_activity_at"),
        )
        .where(uc.is_completed.is_(False), ~completed_recently)
        .group_by(uc.user_id)
    )


class ReportRepository(Repository):
    async def popular_courses(self, limit: int) -> Sequence[RowMapping]:
        """Students per visible course, most first (seed query 2).

        LEFT JOIN from the course, so a course nobody took is listed with 0; counting enrolment ids
        (one per learner and course) keeps the count from being multiplied. The course's erased learners
        count too (`erased_enrolments`, one row per course): they were its students, the number stays
        when the people are forgotten. Archived, hidden and not-yet-published courses are not offered.
        """
        cp, uc, erased = CourseProjection, UserCourse, ErasedEnrolments
        students = func.count(uc.id) + func.coalesce(func.max(erased.enrolled), 0)
        stmt = (
            select(cp.course_id, cp.title, cp.category, students.label("students_count"))
            .select_from(cp)
            .outerjoin(uc, uc.course_id == cp.course_id)
            .outerjoin(erased, erased.course_id == cp.course_id)
            .where(cp.is_active.is_(True), cp.archived_at.is_(None), cp.title.is_not(None))
            .group_by(cp.course_id)
            .order_by(students.desc(), cp.course_id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).mappings().all()

    async def inactive_learners(self, *, since: datetime, limit: int, after_user_id: int) -> Sequence[RowMapping]:
        stmt = (
            inactive_learners_query(since)
            .where(UserCourse.user_id > after_user_id)
            .order_by(UserCourse.user_id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).mappings().all()

    async def enrolled_learner_ids(
        self, *, course_ids: Sequence[int], category: str | None, after_user_id: int, limit: int
    ) -> Sequence[int]:
        """Ids of the learners enrolled (completed or not) on any of `course_ids`, or on any course of the
        category `category` (the course projection's), each once, ascending from after `after_user_id`."""
        uc = UserCourse
        stmt = select(uc.user_id).where(uc.user_id > after_user_id)
        if category is not None:
            in_category = select(CourseProjection.course_id).where(CourseProjection.category == category)
            stmt = stmt.where(uc.course_id.in_(in_category))
        else:
            stmt = stmt.where(uc.course_id.in_(list(course_ids)))
        stmt = stmt.group_by(uc.user_id).order_by(uc.user_id).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()
