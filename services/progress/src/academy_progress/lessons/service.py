"""Lessons: the course as a learner sees it, completing lessons (and with the last one the course), watch time.

Access: an enrolled learner opens every lesson of the course (archived and hidden courses included:
they got it); anybody opens the free-preview lessons of an open course; a learner who is not enrolled
does not see an archived or hidden course at all (404). Progress counts the lessons the course has
now (the projection), so a lesson the catalog removed stops counting and one it added lowers the
percentage; a course completed once stays completed. "Complete" is every lesson the course has now:
when the catalog removes the last lessons a learner had left, the projection completes their
enrolment (`complete_finished_enrolments`), so nobody is left at 100 % without a course completed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from academy_contracts.progress import CourseCompletedV1, CourseCompletedV2, LessonCompletedV1
from academy_runtime.errors import ConflictError, ForbiddenError
from sqlalchemy.ext.asyncio import AsyncSession

from academy_progress import metrics
from academy_progress.errors import CourseNotFoundError, LessonNotFoundError
from academy_progress.lessons.repository import LessonRepository
from academy_progress.lessons.schemas import (
    CourseView,
    LessonCompletion,
    LessonProgressOut,
    LessonState,
    NextLesson,
)
from academy_progress.models import CourseProjection, LessonProjection, UserCourse, UserProgress, messaging
from academy_progress.projections.repository import CourseProjectionRepository

# Event ids derived from the fact they announce: a lesson is completed once per learner, a course
# once per enrolment, whatever retries happen on the way.
_EVENT_NAMESPACE = uuid.UUID("6b1e2f0c-2d7a-4c55-9b0e-8f4f1d3a7c12")


@dataclass(frozen=True)
class CourseProgress:
    lessons: list[LessonState]

    @property
    def total(self) -> int:
        return len(self.lessons)

    @property
    def completed(self) -> int:
        return sum(1 for lesson in self.lessons if lesson.completed)

    @property
    def percent(self) -> int:
        return round(self.completed * 100 / self.total) if self.total else 0

    @property
    def next_lesson(self) -> NextLesson | None:
        """The first lesson the learner can open and has not completed; only lessons the course has now."""
        lesson = next((s for s in self.lessons if s.accessible and not s.completed), None)
        return (
            None if lesson is None else NextLesson(lesson_id=lesson.lesson_id, order=lesson.order, title=lesson.title)
        )

    @property
    def next_lesson_id(self) -> int | None:
        lesson = self.next_lesson
        return None if lesson is None else lesson.lesson_id


def _is_open(course: CourseProjection | None) -> bool:
    return course is not None and course.is_active and course.archived_at is None


def _lesson_states(
    lessons: Sequence[tuple[LessonProjection, UserProgress | None]], *, enrolled: bool, course_open: bool
) -> CourseProgress:
    states = []
    for lesson, row in lessons:
        states.append(
            LessonState(
                lesson_id=lesson.lesson_id,
                order=lesson.order,
                title=lesson.title,
                is_free=lesson.is_free,
                accessible=enrolled or (lesson.is_free and course_open),
                completed=row is not None and row.completed,
                completed_at=row.completed_at if row is not None else None,
                watch_time=row.watch_time if row is not None else 0,
            )
        )
    return CourseProgress(states)


async def _course_progress(
    repo: LessonRepository, *, user_id: int, course_id: int, enrolled: bool, course_open: bool
) -> CourseProgress:
    lessons = await repo.lessons_with_progress(user_id=user_id, course_id=course_id)
    return _lesson_states(lessons, enrolled=enrolled, course_open=course_open)


async def course_view(session: AsyncSession, *, user_id: int, course_id: int) -> CourseView:
    """The course with the learner's progress; a learner not enrolled sees an open course and its previews.
    Two statements (the course with the enrolment, the lessons with the progress): the bot asks for it on
    every course card and lesson (issue 11)."""
    repo = LessonRepository(session)
    course, enrolment = await repo.course_and_enrolment(user_id=user_id, course_id=course_id)
    if enrolment is None and not _is_open(course):
        raise CourseNotFoundError(f"course {course_id} not found")
    state = await _course_progress(
        repo, user_id=user_id, course_id=course_id, enrolled=enrolment is not None, course_open=_is_open(course)
    )
    return CourseView(
        course_id=course_id,
        title=course.title if course else None,
        category=course.category if course else None,
        duration_hours=course.duration_hours if course else None,
        in_catalog=_is_open(course),
        archived=course is not None and course.archived_at is not None,
        enrolled=enrolment is not None,
        is_completed=enrolment is not None and enrolment.is_completed,
        completed_at=enrolment.completed_at if enrolment else None,
        total_lessons=state.total,
        completed_lessons=state.completed,
        progress_percent=state.percent,
        lessons=state.lessons,
        next_lesson_id=state.next_lesson_id,
    )


async def _accessible_lesson(
    session: AsyncSession, repo: LessonRepository, *, user_id: int, lesson_id: int, lock: bool
) -> tuple[LessonProjection, CourseProjection, UserCourse | None]:
    lesson = await repo.get_lesson(lesson_id)
    if lesson is None:
        raise LessonNotFoundError(f"lesson {lesson_id} not found")
    course = await CourseProjectionRepository(session).get(lesson.course_id)
    if course is None or course.category is None:  # lessons arrive with their course's snapshot
        raise ConflictError(f"course {lesson.course_id} of lesson {lesson_id} is not known yet; retry")
    enrolment = await repo.enrolment(user_id=user_id, course_id=lesson.course_id, lock=lock)
    if enrolment is None and not _is_open(course):
        # Withdrawn from the catalog: as invisible as the course is (GET .../courses/{id} is 404 too).
        raise LessonNotFoundError(f"lesson {lesson_id} not found", details={"course_id": lesson.course_id})
    if enrolment is None and not lesson.is_free:
        raise ForbiddenError(
            f"lesson {lesson_id} is not a free preview; enrol on course {lesson.course_id} first",
            details={"course_id": lesson.course_id},
        )
    return lesson, course, enrolment


async def complete_lesson(
    session: AsyncSession, *, user_id: int, lesson_id: int, watch_time: int | None, now: datetime | None = None
) -> LessonCompletion:
    """Complete a lesson (idempotent) and, with the last lesson of an enrolled course, the course.

    The first completion publishes `lesson_completed`; the completion of the enrolment publishes
    `course_completed`, once: the enrolment row is locked before anything is read, so concurrent
    completions of the last lessons are serialised and exactly one finds the course complete.
    """
    now = now or datetime.now(UTC)
    repo = LessonRepository(session)
    lesson, course, enrolment = await _accessible_lesson(session, repo, user_id=user_id, lesson_id=lesson_id, lock=True)
    course_id = lesson.course_id
    newly_completed = await repo.mark_completed(
        user_id=user_id, lesson_id=lesson_id, course_id=course_id, at=now, watch_time=watch_time
    )
    if not newly_completed and watch_time:
        await repo.raise_watch_time(user_id=user_id, lesson_id=lesson_id, course_id=course_id, seconds=watch_time)
    state = await _course_progress(
        repo, user_id=user_id, course_id=course_id, enrolled=enrolment is not None, course_open=_is_open(course)
    )
    this_lesson = next(s for s in state.lessons if s.lesson_id == lesson_id)
    completed_at = this_lesson.completed_at or now
    category = course.category or ""  # never empty: _accessible_lesson refused a course without a snapshot
    if newly_completed:
        await messaging.publish(
            session,
            LessonCompletedV1(
                user_id=user_id,
                course_id=course_id,
                lesson_id=lesson_id,
                category=category,
                watch_time=this_lesson.watch_time,
                completed_at=completed_at,
                lessons_completed_in_course=state.completed,
                lessons_total=state.total,
            ),
            event_id=uuid.uuid5(_EVENT_NAMESPACE, f"progress:lesson_completed:{user_id}:{lesson_id}"),
            occurred_at=completed_at,
        )
        metrics.LESSONS_COMPLETED.inc()
    course_newly_completed = False
    # Checked on every call, not only on a first completion: when the catalog removed the only lesson
    # left, the learner's next "completed" click finishes the course.
    if enrolment is not None and not enrolment.is_completed and state.total and state.completed == state.total:
        course_newly_completed = await repo.complete_enrolment(enrolment.id, at=now)
        if course_newly_completed:
            await _announce_course_completed(session, enrolment_id=enrolment.id, user_id=user_id, course=course, at=now)
    return LessonCompletion(
        lesson_id=lesson_id,
        lesson_title=lesson.title,
        lesson_order=lesson.order,
        course_id=course_id,
        course_title=course.title or "",  # never empty, as the category above
        newly_completed=newly_completed,
        completed_at=completed_at,
        watch_time=this_lesson.watch_time,
        completed_lessons=state.completed,
        total_lessons=state.total,
        progress_percent=state.percent,
        course_completed=course_newly_completed or (enrolment is not None and enrolment.is_completed),
        course_newly_completed=course_newly_completed,
        next_lesson_id=state.next_lesson_id,
        next_lesson=state.next_lesson,
    )


async def complete_finished_enrolments(session: AsyncSession, course_id: int, *, now: datetime | None = None) -> int:
    """Complete every enrolment on the course whose learner has now completed every lesson it has.

    Called when the projection takes a new snapshot of the course: a learner who had done every lesson
    but the ones the catalog just removed would otherwise sit at 100 % with the course not completed
    and no lesson left to press "completed" on. Each completion publishes `course_completed` (its id
    derived from the enrolment, as when the last lesson completes it). The enrolments are locked
    first, so a learner's completion running at the same moment either finishes first (and is seen)
    or waits and then reads the new lesson list: one of the two completes the course, exactly once.
    The number of enrolments completed.
    """
    now = now or datetime.now(UTC)
    repo = LessonRepository(session)
    course = await CourseProjectionRepository(session).get(course_id)
    if course is None or course.category is None:
        return 0
    await repo.lock_unfinished_enrolments(course_id)
    completed = await repo.complete_finished_enrolments(course_id, at=now)
    for enrolment_id, user_id in completed:
        await _announce_course_completed(session, enrolment_id=enrolment_id, user_id=user_id, course=course, at=now)
    return len(completed)


async def _announce_course_completed(
    session: AsyncSession, *, enrolment_id: int, user_id: int, course: CourseProjection, at: datetime
) -> None:
    """Both versions during the transition (v2 names the course for those who tell the learner), v2 first:
    a consumer bound to both for its rollout then usually meets the one with the title first."""
    # Callers hold a course with a catalog snapshot (a category), and a snapshot always has a title.
    if course.title is None or course.category is None:
        raise ValueError(f"course {course.course_id} has no catalog snapshot to announce its completion with")
    completed: dict[str, Any] = {
        "user_id": user_id,
        "course_id": course.course_id,
        "category": course.category,
        "completed_at": at,
        "duration_hours": course.duration_hours,
    }
    for event, name in (
        (CourseCompletedV2(**completed, course_title=course.title), "course_completed.v2"),
        (CourseCompletedV1(**completed), "course_completed"),
    ):
        await messaging.publish(
            session,
            event,
            event_id=uuid.uuid5(_EVENT_NAMESPACE, f"progress:{name}:{enrolment_id}"),
            occurred_at=at,
        )
    metrics.COURSES_COMPLETED.inc()


async def record_watch_time(session: AsyncSession, *, user_id: int, lesson_id: int, seconds: int) -> LessonProgressOut:
    """Keep the most seconds watched reported so far (replays and late reports never lower it)."""
    repo = LessonRepository(session)
    lesson, _, _ = await _accessible_lesson(session, repo, user_id=user_id, lesson_id=lesson_id, lock=False)
    await repo.raise_watch_time(user_id=user_id, lesson_id=lesson_id, course_id=lesson.course_id, seconds=seconds)
    row = await repo.get_progress(user_id=user_id, lesson_id=lesson_id)
    return LessonProgressOut(
        lesson_id=lesson_id,
        course_id=lesson.course_id,
        completed=row is not None and row.completed,
        completed_at=row.completed_at if row else None,
        watch_time=row.watch_time if row else seconds,
    )
