from __future__ import annotations

from datetime import datetime

from academy_runtime.repository import Repository
from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert

from academy_progress.models import CourseProjection, LessonProjection, UserCourse, UserProgress


class LessonRepository(Repository):
    async def get_lesson(self, lesson_id: int) -> LessonProjection | None:
        return await self.session.get(LessonProjection, lesson_id)

    async def lessons_with_progress(
        self, *, user_id: int, course_id: int
    ) -> list[tuple[LessonProjection, UserProgress | None]]:
        """The lessons the course has now, in course order, each with the learner's progress row (None when
        they have none). One statement (issue 11: the lessons and the progress were two).

        Progress is joined through the projection, not through `user_progress.course_id`: a lesson the
        catalog removed from the course (or moved to another one) no longer counts here. Rows already in the
        session are refreshed (a completion has just changed one with a statement of its own).
        """
        result = await self.session.execute(
            select(LessonProjection, UserProgress)
            .outerjoin(
                UserProgress,
                and_(UserProgress.lesson_id == LessonProjection.lesson_id, UserProgress.user_id == user_id),
            )
            .where(LessonProjection.course_id == course_id)
            .order_by(LessonProjection.order, LessonProjection.lesson_id)
            .execution_options(populate_existing=True)
        )
        return [(lesson, progress) for lesson, progress in result]

    async def course_and_enrolment(
        self, *, user_id: int, course_id: int
    ) -> tuple[CourseProjection | None, UserCourse | None]:
        """The course's projection and the learner's enrolment on it, either None, in one statement when the
        course is projected (an enrolment never comes before its course's projection, but is looked up on
        its own should it have)."""
        row = (
            await self.session.execute(
                select(CourseProjection, UserCourse)
                .outerjoin(
                    UserCourse, and_(UserCourse.course_id == CourseProjection.course_id, UserCourse.user_id == user_id)
                )
                .where(CourseProjection.course_id == course_id)
            )
        ).first()
        if row is None:
            return None, await self.enrolment(user_id=user_id, course_id=course_id)
        return row[0], row[1]

    async def enrolment(self, *, user_id: int, course_id: int, lock: bool = False) -> UserCourse | None:
        """The learner's enrolment; with `lock`, held until the transaction ends.

        Completions lock it first, so that two completions on one course by one learner run one after
        the other: the second sees the first's lesson and only one of them can complete the course.
        """
        stmt = select(UserCourse).where(UserCourse.user_id == user_id, UserCourse.course_id == course_id)
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def mark_completed(
        self, *, user_id: int, lesson_id: int, course_id: int, at: datetime, watch_time: int | None
    ) -> bool:
        """Complete the lesson unless it already is; True when this call completed it.

        One statement: a concurrent completion of the same lesson waits on the row and then finds it
        completed, so exactly one of them returns True.
        """
        stmt = insert(UserProgress).values(
            user_id=user_id,
            lesson_id=lesson_id,
            course_id=course_id,
            completed=True,
            completed_at=at,
            watch_time=watch_time or 0,
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=[UserProgress.user_id, UserProgress.lesson_id],
            set_={
                "completed": True,
                "completed_at": stmt.excluded.completed_at,
                "course_id": stmt.excluded.course_id,
                "watch_time": func.greatest(UserProgress.watch_time, stmt.excluded.watch_time),
                "updated_at": func.now(),
            },
            where=UserProgress.completed.is_(False),
        ).returning(UserProgress.id)
        return (await self.session.execute(upsert)).first() is not None

    async def raise_watch_time(self, *, user_id: int, lesson_id: int, course_id: int, seconds: int) -> None:
        """Record the seconds watched; it never goes down (a replayed or reordered report changes nothing)."""
        stmt = insert(UserProgress).values(
            user_id=user_id, lesson_id=lesson_id, course_id=course_id, watch_time=seconds
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[UserProgress.user_id, UserProgress.lesson_id],
                set_={
                    "watch_time": func.greatest(UserProgress.watch_time, stmt.excluded.watch_time),
                    "updated_at": func.now(),
                },
                where=UserProgress.watch_time < stmt.excluded.watch_time,
            )
        )

    async def get_progress(self, *, user_id: int, lesson_id: int) -> UserProgress | None:
        result = await self.session.execute(
            select(UserProgress)
            .where(UserProgress.user_id == user_id, UserProgress.lesson_id == lesson_id)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def lock_unfinished_enrolments(self, course_id: int) -> None:
        """Lock every enrolment on the course not completed yet (in id order) until the transaction ends.

        The same lock a learner's completion takes on their own enrolment: the two take turns.
        """
        await self.session.execute(
            select(UserCourse.id)
            .where(UserCourse.course_id == course_id, UserCourse.is_completed.is_(False))
            .order_by(UserCourse.id)
            .with_for_update()
        )

    async def complete_finished_enrolments(self, course_id: int, *, at: datetime) -> list[tuple[int, int]]:
        """Complete the enrolments whose learner completed every lesson the course has now (at least one).

        `(enrolment id, user id)` of each enrolment this statement completed; one already completed is
        left alone, so a repeated call completes nothing twice.
        """
        lesson, done = LessonProjection, UserProgress
        lesson_left = (
            select(lesson.lesson_id)
            .where(
                lesson.course_id == course_id,
                ~exists()
                .where(
                    done.user_id == UserCourse.user_id,
                    done.lesson_id == lesson.lesson_id,
                    done.completed.is_(True),
                )
                .correlate(UserCourse, lesson),
            )
            .correlate(UserCourse)
        )
        result = await self.session.execute(
            update(UserCourse)
            .where(
                UserCourse.course_id == course_id,
                UserCourse.is_completed.is_(False),
                exists().where(lesson.course_id == course_id),
                ~exists(lesson_left),
            )
            .values(is_completed=True, completed_at=at)
            .returning(UserCourse.id, UserCourse.user_id)
        )
        return [(row.id, row.user_id) for row in result]

    async def complete_enrolment(self, enrolment_id: int, *, at: datetime) -> bool:
        """Mark the enrolment completed unless it already is; True when this call did."""
        result = await self.session.execute(
            update(UserCourse)
            .where(UserCourse.id == enrolment_id, UserCourse.is_completed.is_(False))
            .values(is_completed=True, completed_at=at)
            .returning(UserCourse.id)
        )
        return result.first() is not None
