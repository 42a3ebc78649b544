"""Course commands and queries. Every change other services must hear about goes to the outbox.

- publish → `catalog.course_published.v1` (once per course: its event id derives from the course);
- any change to a *published* course (its fields, price, visibility, top flag, lessons) →
  `catalog.course_updated.v1` with the whole course and an `updated_at` that only moves forward;
- archive → `catalog.course_archived.v1` when the course had been published.

Drafts change silently: nobody outside the catalog has heard of them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from academy_contracts.catalog import CourseArchivedV1, CourseLesson, CoursePublishedV1, CourseUpdatedV1
from academy_contracts.primitives import Money
from academy_runtime.errors import ConflictError, NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession

from academy_catalog import metrics
from academy_catalog.categories.repository import CategoryRepository
from academy_catalog.courses.repository import CourseRepository
from academy_catalog.courses.schemas import (
    TELEGRAM_STARS,
    AddLesson,
    CourseDetail,
    CourseOut,
    CoursePage,
    CreateCourse,
    EditCourse,
    EditLesson,
    LessonOut,
    ReorderLessons,
)
from academy_catalog.errors import CourseNotFoundError, LessonNotFoundError, invalid_field
from academy_catalog.models import Course, Lesson, messaging

# Event ids derived from the course: a course is published and archived at most once, so a second
# attempt to write the same event fails on the outbox's unique event id instead of going out twice.
_EVENT_NAMESPACE = uuid.UUID("5f0b8a56-1c9e-4d8e-9a53-3c1f2f6b7a10")

# What a course is, for consumers and learners; timestamps and the life cycle are tracked apart.
_CONTENT_COLUMNS = (
    "code",
    "title",
    "description",
    "full_description",
    "category",
    "cover_image_url",
    "is_top",
    "price",
    "currency",
    "duration_hours",
    "is_active",
)
_LESSON_CONTENT = ("order", "title", "description", "video_url", "video_duration", "pdf_url", "is_free")


Snapshot = TypeVar("Snapshot", CoursePublishedV1, CourseUpdatedV1)


def _event_id(course_id: int, what: str) -> uuid.UUID:
    return uuid.uuid5(_EVENT_NAMESPACE, f"catalog:course:{course_id}:{what}")


# -- queries -------------------------------------------------------------------------------------


def is_visible(course: Course) -> bool:
    return course.status == "published" and course.is_active


def was_published(course: Course) -> bool:
    """Learners may hold it: published once, whether still listed, hidden (`is_active` off) or archived since.

    A draft never was (archived or not): nobody outside the catalog has heard of it, nobody is enrolled.
    """
    return course.published_at is not None


async def get_course(
    session: AsyncSession, course_id: int, *, include_drafts: bool = False, include_archived: bool = False
) -> CourseDetail:
    """A course learners may browse (published and active).

    `include_archived` also finds a course withdrawn after publication (archived or hidden), with its
    lessons: its enrolled learners keep what they enrolled in. Progress decides who is enrolled; the
    catalog keeps one copy of the content and serves it. Operators pass `include_drafts` to see any.
    """
    course = await CourseRepository(session).get(course_id)
    if course is None or not (include_drafts or is_visible(course) or (include_archived and was_published(course))):
        raise CourseNotFoundError(f"course {course_id} not found")
    return course_detail(course)


async def list_courses(session: AsyncSession, *, category: str | None, page: int, page_size: int) -> CoursePage:
    """The courses learners can browse: published and active, optionally of one category."""
    if category is not None and not await CategoryRepository(session).exists(category):
        raise invalid_field("query.category", f"unknown category {category!r}; see GET /internal/categories")
    rows, total = await CourseRepository(session).page_visible(
        category=category, limit=page_size, offset=(page - 1) * page_size
    )
    return CoursePage(
        items=[_course_out(course, lessons, free) for course, lessons, free in rows],
        page=page,
        page_size=page_size,
        total=total,
    )


def month_start(timezone: str, now: datetime | None = None) -> datetime:
    """The first instant of the current calendar month in `timezone`."""
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def top_course(session: AsyncSession, *, timezone: str) -> CourseDetail:
    """The course of the month: the operator's flag, else the most enrolled this month, else the newest."""
    course = await CourseRepository(session).top_visible(month_start=month_start(timezone))
    if course is None:
        raise NotFoundError("the catalog has no published course yet")
    return course_detail(course)


# -- course commands -----------------------------------------------------------------------------


async def create_course(session: AsyncSession, command: CreateCourse) -> CourseDetail:
    """Create a draft course with its lessons. Nothing is published until `publish_course`."""
    await _check_category(session, command.category)
    repository = CourseRepository(session)
    if command.code is not None and await repository.code_taken(command.code):
        raise invalid_field("body.code", f"code {command.code!r} is already used by another course")
    course = Course(
        **command.model_dump(exclude={"lessons"}),
        status="draft",
        lessons=[Lesson(**lesson.model_dump()) for lesson in command.lessons],
    )
    await repository.add(course)
    return course_detail(course)


async def edit_course(session: AsyncSession, course_id: int, command: EditCourse) -> CourseDetail:
    """Change some fields of a course; a published course announces the result (`course_updated`)."""
    course = await _editable_course(session, course_id)
    changes = command.model_dump(exclude_unset=True)
    if "category" in changes and changes["category"] != course.category:
        await _check_category(session, changes["category"])
    currency = changes.get("currency", course.currency)
    price = changes.get("price", course.price)
    if currency == TELEGRAM_STARS and price != price.to_integral_value():
        field = "body.price" if "price" in changes else "body.currency"
        raise invalid_field(field, "Telegram Stars (XTR) prices are whole numbers")
    before = _content(course)
    for name, value in changes.items():
        setattr(course, name, value)
    await record_change(session, course, before)
    return course_detail(course)


async def publish_course(session: AsyncSession, course_id: int) -> CourseDetail:
    """Make a draft visible and announce it (`catalog.course_published.v1`). Publishing twice is a no-op."""
    course = await _course_for_update(session, course_id)
    if course.status == "archived":
        raise ConflictError(f"course {course_id} is archived and cannot be published again")
    if course.status == "published":
        return course_detail(course)
    await publish(session, course)
    return course_detail(course)


async def publish(session: AsyncSession, course: Course) -> None:
    """Publish a draft (its lessons loaded) and write `course_published`."""
    if not course.lessons:
        raise ConflictError(f"course {course.id} has no lessons; add one before publishing")
    now = _next_update_time(course)
    course.status = "published"
    course.published_at = now
    course.updated_at = now
    await session.flush()
    await messaging.publish(
        session,
        _snapshot(CoursePublishedV1, course, published_at=now),
        event_id=_event_id(course.id, "published"),
        occurred_at=now,
    )
    metrics.COURSES_PUBLISHED.inc()


async def archive_course(session: AsyncSession, course_id: int) -> CourseDetail:
    """Withdraw a course for good (`catalog.course_archived.v1` when it had been published)."""
    course = await _course_for_update(session, course_id)
    if course.status == "archived":
        return course_detail(course)
    now = _next_update_time(course)
    course.status = "archived"
    course.archived_at = now
    course.updated_at = now
    await session.flush()
    # A draft nobody outside the catalog has heard of is archived silently.
    if course.published_at is not None:
        await messaging.publish(
            session,
            CourseArchivedV1(course_id=course.id, archived_at=now),
            event_id=_event_id(course.id, "archived"),
            occurred_at=now,
        )
    metrics.COURSES_ARCHIVED.inc()
    return course_detail(course)


# -- lesson commands -----------------------------------------------------------------------------


async def add_lesson(session: AsyncSession, course_id: int, command: AddLesson) -> CourseDetail:
    """Insert a lesson at `order` (the ones from there move down one) or, without one, last."""
    course = await _editable_course(session, course_id)
    lessons = ordered_lessons(course)
    position = command.order or len(lessons) + 1
    if position > len(lessons) + 1:
        raise invalid_field("body.order", f"the course has {len(lessons)} lessons; order goes up to {len(lessons) + 1}")
    before = _content(course)
    await CourseRepository(session).defer_lesson_order_checks()
    for lesson in lessons[position - 1 :]:
        lesson.order += 1
    course.lessons.append(Lesson(**command.model_dump(exclude={"order"}), order=position))
    await record_change(session, course, before)
    return course_detail(course)


async def edit_lesson(session: AsyncSession, course_id: int, lesson_id: int, command: EditLesson) -> CourseDetail:
    course = await _editable_course(session, course_id)
    lesson = _lesson_of(course, lesson_id)
    before = _content(course)
    for name, value in command.model_dump(exclude_unset=True).items():
        setattr(lesson, name, value)
    await record_change(session, course, before)
    return course_detail(course)


async def delete_lesson(session: AsyncSession, course_id: int, lesson_id: int) -> CourseDetail:
    """Remove a lesson; the ones after it move up, so the course stays numbered 1..n."""
    course = await _editable_course(session, course_id)
    lesson = _lesson_of(course, lesson_id)
    if course.status == "published" and len(course.lessons) == 1:
        raise ConflictError(f"lesson {lesson_id} is the only lesson of published course {course_id}")
    before = _content(course)
    await CourseRepository(session).defer_lesson_order_checks()
    course.lessons.remove(lesson)
    for position, remaining in enumerate(ordered_lessons(course), start=1):
        remaining.order = position
    await record_change(session, course, before)
    return course_detail(course)


async def reorder_lessons(session: AsyncSession, course_id: int, command: ReorderLessons) -> CourseDetail:
    """Put the lessons in the given order (every lesson of the course, each once)."""
    course = await _editable_course(session, course_id)
    current = {lesson.id for lesson in course.lessons}
    if set(command.lesson_ids) != current:
        missing = sorted(current - set(command.lesson_ids))
        foreign = sorted(set(command.lesson_ids) - current)
        raise invalid_field(
            "body.lesson_ids",
            f"list every lesson of course {course_id} once; missing {missing}, not of this course {foreign}",
        )
    by_id = {lesson.id: lesson for lesson in course.lessons}
    before = _content(course)
    await CourseRepository(session).defer_lesson_order_checks()
    for position, lesson_id in enumerate(command.lesson_ids, start=1):
        by_id[lesson_id].order = position
    await record_change(session, course, before)
    return course_detail(course)


# -- shared by the commands and the demo loader --------------------------------------------------


def content_of(course: Course) -> tuple[object, ...]:
    """Everything learners and consumers see of a course; equal tuples mean nothing to announce."""
    return _content(course)


async def record_change(session: AsyncSession, course: Course, before: tuple[object, ...]) -> bool:
    """Flush a change; when the content differs from `before`, stamp it and announce it if published."""
    if _content(course) == before:
        await session.flush()
        return False
    now = _next_update_time(course)
    course.updated_at = now
    await session.flush()
    if course.status == "published":
        await messaging.publish(session, _snapshot(CourseUpdatedV1, course, updated_at=now), occurred_at=now)
        metrics.COURSES_UPDATED.inc()
    return True


async def _check_category(session: AsyncSession, category: str) -> None:
    if not await CategoryRepository(session).exists(category):
        raise invalid_field("body.category", f"unknown category {category!r}; see GET /internal/categories")


async def _course_for_update(session: AsyncSession, course_id: int) -> Course:
    course = await CourseRepository(session).get(course_id, for_update=True)
    if course is None:
        raise CourseNotFoundError(f"course {course_id} not found")
    return course


async def _editable_course(session: AsyncSession, course_id: int) -> Course:
    course = await _course_for_update(session, course_id)
    if course.status == "archived":
        raise ConflictError(f"course {course_id} is archived; it can no longer be changed")
    return course


def _lesson_of(course: Course, lesson_id: int) -> Lesson:
    for lesson in course.lessons:
        if lesson.id == lesson_id:
            return lesson
    raise LessonNotFoundError(f"lesson {lesson_id} not found in course {course.id}")


def _next_update_time(course: Course) -> datetime:
    """Now, or just after the course's last change: consumers keep the newest `updated_at`, so it must grow."""
    now = datetime.now(UTC)
    last = course.updated_at
    if last is not None and now <= last:
        return last + timedelta(microseconds=1)
    return now


def _content(course: Course) -> tuple[object, ...]:
    lessons = tuple(
        (lesson.id, *(getattr(lesson, name) for name in _LESSON_CONTENT)) for lesson in ordered_lessons(course)
    )
    return (*(getattr(course, name) for name in _CONTENT_COLUMNS), lessons)


def _snapshot(model: type[Snapshot], course: Course, **stamp: datetime) -> Snapshot:
    return model(
        course_id=course.id,
        title=course.title,
        category=course.category,
        price=Money(amount=course.price, currency=course.currency),
        is_top=course.is_top,
        duration_hours=course.duration_hours,
        is_active=course.is_active,
        lessons=tuple(
            CourseLesson(
                lesson_id=lesson.id,
                order=lesson.order,
                title=lesson.title,
                is_free=lesson.is_free,
                video_duration=lesson.video_duration,
            )
            for lesson in ordered_lessons(course)
        ),
        **stamp,
    )


def ordered_lessons(course: Course) -> list[Lesson]:
    return sorted(course.lessons, key=lambda lesson: lesson.order)


def _course_fields(course: Course) -> dict[str, object]:
    return {column.key: getattr(course, column.key) for column in Course.__table__.columns}


def _course_out(course: Course, lessons_count: int, free_lessons_count: int) -> CourseOut:
    return CourseOut.model_validate(
        {**_course_fields(course), "lessons_count": lessons_count, "free_lessons_count": free_lessons_count}
    )


def course_detail(course: Course) -> CourseDetail:
    lessons = ordered_lessons(course)
    return CourseDetail.model_validate(
        {
            **_course_fields(course),
            "lessons_count": len(lessons),
            "free_lessons_count": sum(1 for lesson in lessons if lesson.is_free),
            "lessons": [LessonOut.model_validate(lesson) for lesson in lessons],
        }
    )
