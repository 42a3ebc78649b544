"""Course commands and queries. Publishing and archiving write their events to the outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from academy_contracts.catalog import CourseArchivedV1, CourseLesson, CoursePublishedV1
from academy_contracts.primitives import Money
from academy_runtime.errors import ConflictError, NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession

from academy_catalog import metrics
from academy_catalog.categories.repository import CategoryRepository
from academy_catalog.courses.repository import CourseRepository
from academy_catalog.courses.schemas import CourseDetail, CourseOut, CoursePage, CreateCourse, LessonOut
from academy_catalog.errors import invalid_field
from academy_catalog.models import Course, Lesson, messaging

# Event ids derived from the course: a course is published and archived at most once, so a second
# attempt to write the same event fails on the outbox's unique event id instead of going out twice.
_EVENT_NAMESPACE = uuid.UUID("5f0b8a56-1c9e-4d8e-9a53-3c1f2f6b7a10")


def _event_id(course_id: int, what: str) -> uuid.UUID:
    return uuid.uuid5(_EVENT_NAMESPACE, f"catalog:course:{course_id}:{what}")


async def create_course(session: AsyncSession, command: CreateCourse) -> CourseDetail:
    """Create a draft course with its lessons. Nothing is published until `publish_course`."""
    if not await CategoryRepository(session).exists(command.category):
        raise invalid_field("body.category", f"unknown category {command.category!r}; see GET /internal/categories")
    course = Course(
        **command.model_dump(exclude={"lessons"}),
        status="draft",
        lessons=[Lesson(**lesson.model_dump()) for lesson in command.lessons],
    )
    await CourseRepository(session).add(course)
    return course_detail(course)


async def get_course(session: AsyncSession, course_id: int, *, include_drafts: bool = False) -> CourseDetail:
    course = await CourseRepository(session).get(course_id)
    if course is None or (course.status == "draft" and not include_drafts):
        raise NotFoundError(f"course {course_id} not found")
    return course_detail(course)


async def list_courses(session: AsyncSession, *, category: str | None, page: int, page_size: int) -> CoursePage:
    """The courses learners can browse: published and active, optionally of one category."""
    if category is not None and not await CategoryRepository(session).exists(category):
        raise invalid_field("query.category", f"unknown category {category!r}; see GET /internal/categories")
    rows, total = await CourseRepository(session).page_visible(
        category=category, limit=page_size, offset=(page - 1) * page_size
    )
    return CoursePage(
        items=[_course_out(course, lessons_count) for course, lessons_count in rows],
        page=page,
        page_size=page_size,
        total=total,
    )


async def publish_course(session: AsyncSession, course_id: int) -> CourseDetail:
    """Make a draft visible and announce it (`catalog.course_published.v1`). Publishing twice is a no-op."""
    course = await CourseRepository(session).get(course_id, for_update=True)
    if course is None:
        raise NotFoundError(f"course {course_id} not found")
    if course.status == "archived":
        raise ConflictError(f"course {course_id} is archived and cannot be published again")
    if course.status == "published":
        return course_detail(course)
    if not course.lessons:
        raise ConflictError(f"course {course_id} has no lessons; add one before publishing")
    now = datetime.now(UTC)
    course.status = "published"
    course.published_at = now
    course.updated_at = now
    await session.flush()
    await messaging.publish(
        session, _published_event(course, now), event_id=_event_id(course.id, "published"), occurred_at=now
    )
    metrics.COURSES_PUBLISHED.inc()
    return course_detail(course)


async def archive_course(session: AsyncSession, course_id: int) -> CourseDetail:
    """Withdraw a course for good (`catalog.course_archived.v1` when it had been published)."""
    course = await CourseRepository(session).get(course_id, for_update=True)
    if course is None:
        raise NotFoundError(f"course {course_id} not found")
    if course.status == "archived":
        return course_detail(course)
    now = datetime.now(UTC)
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


def _published_event(course: Course, published_at: datetime) -> CoursePublishedV1:
    return CoursePublishedV1(
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
            for lesson in _ordered_lessons(course)
        ),
        published_at=published_at,
    )


def _ordered_lessons(course: Course) -> list[Lesson]:
    return sorted(course.lessons, key=lambda lesson: lesson.order)


def _course_fields(course: Course) -> dict[str, object]:
    return {column.key: getattr(course, column.key) for column in Course.__table__.columns}


def _course_out(course: Course, lessons_count: int) -> CourseOut:
    return CourseOut.model_validate({**_course_fields(course), "lessons_count": lessons_count})


def course_detail(course: Course) -> CourseDetail:
    lessons = _ordered_lessons(course)
    return CourseDetail.model_validate(
        {
            **_course_fields(course),
            "lessons_count": len(lessons),
            "lessons": [LessonOut.model_validate(lesson) for lesson in lessons],
        }
    )
