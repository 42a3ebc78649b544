"""Events published by the progress service: enrolments, completed lessons and courses, inactivity.

Version 2 of `course_completed` names the course (its title), so a consumer that congratulates the
learner need not ask the catalog; progress publishes both versions during the transition.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from academy_contracts.base import EventData
from academy_contracts.primitives import (
    CalendarDate,
    Count,
    DbId,
    PositiveCount,
    Seconds,
    Slug,
    Title,
    UtcDatetime,
)

__all__ = [
    "CourseCompletedV1",
    "CourseCompletedV2",
    "CourseEnrolledV1",
    "EnrollmentSource",
    "LearnerInactiveV1",
    "LessonCompletedV1",
]

_SERVICE = "progress"

EnrollmentSource = Literal["free", "purchase", "operator"]


class CourseEnrolledV1(EventData):
    """A learner got access to a course (free course, purchase, or granted by an operator)."""

    event_type: ClassVar[str] = "progress.course_enrolled.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "enrolled_at"

    user_id: DbId = Field(description="The learner.")
    course_id: DbId = Field(description="The course.")
    enrollment_id: DbId = Field(description="Id of the enrolment (one per learner and course).")
    source: EnrollmentSource = Field(
        description="How access was obtained: `free` course, `purchase` (billing.course_purchased) or `operator` grant."
    )
    purchase_id: DbId | None = Field(
        default=None, description="The billing purchase that granted access, when `source` is `purchase`."
    )
    enrolled_at: UtcDatetime = Field(description="When access was granted.")

    @model_validator(mode="after")
    def _purchase_only_for_purchases(self) -> Self:
        if self.purchase_id is not None and self.source != "purchase":
            raise ValueError("purchase_id is only set when source is 'purchase'")
        return self

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            course_id=7,
            enrollment_id=3001,
            source="purchase",
            purchase_id=501,
            enrolled_at=datetime(2025, 3, 3, 11, 0, tzinfo=UTC),
        )


class LessonCompletedV1(EventData):
    """A learner completed a lesson for the first time (repeats publish nothing)."""

    event_type: ClassVar[str] = "progress.lesson_completed.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "completed_at"

    user_id: DbId = Field(description="The learner.")
    course_id: DbId = Field(description="Course the lesson belongs to.")
    lesson_id: DbId = Field(description="The completed lesson.")
    category: Slug = Field(description="Category slug of the course, e.g. `manicure`.")
    watch_time: Seconds = Field(description="Seconds of video the learner watched in this lesson.")
    completed_at: UtcDatetime = Field(description="When the lesson was completed.")
    lessons_completed_in_course: PositiveCount = Field(
        description="Lessons of this course the learner has completed, including this one."
    )
    lessons_total: PositiveCount = Field(description="Lessons in the course at the time of completion.")

    @model_validator(mode="after")
    def _completed_within_total(self) -> Self:
        if self.lessons_completed_in_course > self.lessons_total:
            raise ValueError("lessons_completed_in_course cannot exceed lessons_total")
        return self

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            course_id=7,
            lesson_id=102,
            category="manicure",
            watch_time=1185,
            completed_at=datetime(2025, 3, 4, 20, 15, tzinfo=UTC),
            lessons_completed_in_course=2,
            lessons_total=12,
        )


class CourseCompletedV1(EventData):
    """A learner completed every lesson of a course (published once per learner and course)."""

    event_type: ClassVar[str] = "progress.course_completed.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "completed_at"

    user_id: DbId = Field(description="The learner.")
    course_id: DbId = Field(description="The completed course.")
    category: Slug = Field(description="Category slug of the course, e.g. `manicure`.")
    completed_at: UtcDatetime = Field(description="When the last lesson was completed.")
    duration_hours: Count | None = Field(
        default=None, description="Announced length of the course in hours, for the transcript; null if unset."
    )

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            course_id=7,
            category="manicure",
            completed_at=datetime(2025, 3, 20, 19, 45, tzinfo=UTC),
            duration_hours=12,
        )


class CourseCompletedV2(EventData):
    """A learner completed every lesson of a course (published once per learner and course). Version 2 adds
    the course's title."""

    event_type: ClassVar[str] = "progress.course_completed.v2"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "completed_at"

    user_id: DbId = Field(description="The learner.")
    course_id: DbId = Field(description="The completed course.")
    course_title: Title = Field(
        description="Title of the course as the catalog last described it (also after it was withdrawn)."
    )
    category: Slug = Field(description="Category slug of the course, e.g. `manicure`.")
    completed_at: UtcDatetime = Field(description="When the last lesson was completed.")
    duration_hours: Count | None = Field(
        default=None, description="Announced length of the course in hours, for the transcript; null if unset."
    )

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            course_id=7,
            course_title="Аппаратный маникюр: базовый курс",
            category="manicure",
            completed_at=datetime(2025, 3, 20, 19, 45, tzinfo=UTC),
            duration_hours=12,
        )


class LearnerInactiveV1(EventData):
    """A learner with an unfinished course has not studied for a while (published at most once per
    learner and `period_start`), so the bot can send a reminder."""

    event_type: ClassVar[str] = "progress.learner_inactive.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "detected_at"

    user_id: DbId = Field(description="The learner.")
    last_activity_at: UtcDatetime | None = Field(
        default=None, description="Last lesson activity; null when the learner never started a lesson."
    )
    inactive_days: PositiveCount = Field(description="Whole days without activity when this was detected.")
    period_start: CalendarDate = Field(
        description="First day (UTC) of the inactivity check period this event belongs to; with `user_id` "
        "it identifies the reminder, so a repeated check does not remind twice."
    )
    detected_at: UtcDatetime = Field(description="When the inactivity check ran.")

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            last_activity_at=datetime(2025, 3, 4, 20, 15, tzinfo=UTC),
            inactive_days=7,
            period_start=date(2025, 3, 10),
            detected_at=datetime(2025, 3, 11, 6, 0, tzinfo=UTC),
        )
