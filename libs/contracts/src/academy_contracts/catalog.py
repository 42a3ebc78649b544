"""Events published by the catalog service: the life of a course.

`course_published` and `course_updated` carry the whole course (with its lesson list), so consumers
keep a projection by replacing it; none of them needs to call the catalog to fill gaps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar, Self

from pydantic import Field, StrictBool, model_validator

from academy_contracts.base import ContractModel, EventData
from academy_contracts.primitives import Count, DbId, Money, Seconds, Slug, Title, UtcDatetime

__all__ = ["CourseArchivedV1", "CourseLesson", "CoursePublishedV1", "CourseSnapshot", "CourseUpdatedV1"]

_SERVICE = "catalog"


class CourseLesson(ContractModel):
    """One lesson of a course as other services need it (no video or PDF links: those stay in the catalog)."""

    lesson_id: DbId = Field(description="Lesson id.")
    order: Count = Field(description="Position of the lesson in the course; lessons are listed in this order.")
    title: Title = Field(description="Lesson title.")
    is_free: StrictBool = Field(description="Whether the lesson is open without buying the course (preview).")
    video_duration: Seconds | None = Field(
        default=None, description="Length of the lesson video in seconds; null when there is no video."
    )

    @classmethod
    def example(cls) -> Self:
        return cls(lesson_id=101, order=1, title="Подготовка рабочего места", is_free=True, video_duration=540)


class CourseSnapshot(EventData):
    """The course fields shared by `course_published` and `course_updated` (not an event by itself)."""

    course_id: DbId = Field(description="Course id.")
    title: Title = Field(description="Course title.")
    category: Slug = Field(description="Category slug: `manicure`, `pedicure`, `eyelashes`, `eyebrows`, ...")
    price: Money = Field(description="Price of the course; `0.00` for a free course.")
    is_top: StrictBool = Field(description="Whether the course is featured as a course of the month.")
    duration_hours: Count | None = Field(default=None, description="Announced length of the course in hours, if set.")
    is_active: StrictBool = Field(description="Whether learners can see and enrol in the course.")
    lessons: tuple[CourseLesson, ...] = Field(description="All lessons of the course, in `order`.")

    @model_validator(mode="after")
    def _lessons_are_distinct(self) -> Self:
        ids = [lesson.lesson_id for lesson in self.lessons]
        if len(set(ids)) != len(ids):
            raise ValueError("a course lists each lesson once")
        return self

    def event_subject(self) -> str | None:
        return f"course/{self.course_id}"

    @classmethod
    def _example_fields(cls) -> dict[str, object]:
        return {
            "course_id": 7,
            "title": "Аппаратный маникюр: базовый курс",
            "category": "manicure",
            "price": Money(amount=Decimal("4900.00"), currency="RUB"),
            "is_top": True,
            "duration_hours": 12,
            "is_active": True,
            "lessons": (
                CourseLesson.example(),
                CourseLesson(lesson_id=102, order=2, title="Снятие покрытия", is_free=False, video_duration=1260),
            ),
        }


class CoursePublishedV1(CourseSnapshot):
    """A course became visible to learners for the first time."""

    event_type: ClassVar[str] = "catalog.course_published.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "published_at"

    published_at: UtcDatetime = Field(description="When the course was published.")

    @classmethod
    def example(cls) -> Self:
        return cls.model_validate({**cls._example_fields(), "published_at": datetime(2025, 2, 20, 10, 0, tzinfo=UTC)})


class CourseUpdatedV1(CourseSnapshot):
    """A published course changed (title, price, lessons, visibility...). Carries the whole course."""

    event_type: ClassVar[str] = "catalog.course_updated.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "updated_at"

    updated_at: UtcDatetime = Field(
        description="When the course was changed; consumers ignore an update older than the one they hold."
    )

    @classmethod
    def example(cls) -> Self:
        return cls.model_validate({**cls._example_fields(), "updated_at": datetime(2025, 3, 5, 14, 0, tzinfo=UTC)})


class CourseArchivedV1(EventData):
    """A course was withdrawn from the catalog: it is no longer listed, sold or open for enrolment."""

    event_type: ClassVar[str] = "catalog.course_archived.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "archived_at"

    course_id: DbId = Field(description="Course id.")
    archived_at: UtcDatetime = Field(description="When the course was archived.")

    def event_subject(self) -> str | None:
        return f"course/{self.course_id}"

    @classmethod
    def example(cls) -> Self:
        return cls(course_id=7, archived_at=datetime(2025, 6, 1, 0, 0, tzinfo=UTC))
