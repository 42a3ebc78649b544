from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# A lesson video is minutes long; a day of watch time is garbage, not a record.
MAX_WATCH_SECONDS = 86_400


def _a_json_number(value: object) -> object:
    """Refuse `true`/`false` and text where the schema says integer: pydantic's lax mode reads `true` as 1
    and `"5"` as 5, which the API test rightly calls a schema-violating request accepted. An integral
    number (`540`, `540.0`) is what JSON Schema's integer is, and passes."""
    if isinstance(value, bool | str):
        raise ValueError("Input should be a valid integer")  # noqa: TRY004 - pydantic turns it into a 422
    return value


Seconds = Annotated[int, Field(ge=0, le=MAX_WATCH_SECONDS), BeforeValidator(_a_json_number)]
"""Seconds of a lesson's video, a whole number from 0 to a day."""


class CompleteLesson(BaseModel):
    """Command: mark a lesson completed (optionally with the seconds of video watched so far)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"watch_time": 540}]})

    watch_time: Seconds | None = None


class RecordWatchTime(BaseModel):
    """Command: the learner has watched `seconds` of the lesson's video (the total so far, not an increment)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"seconds": 300}]})

    seconds: Seconds


class LessonState(BaseModel):
    lesson_id: int
    order: int
    title: str
    is_free: bool
    accessible: bool = Field(description="Enrolled, or a free-preview lesson of an open course.")
    completed: bool
    completed_at: datetime | None
    watch_time: int


class NextLesson(BaseModel):
    """The lesson to continue with: one the learner can open (never a removed or locked one)."""

    lesson_id: int
    order: int = Field(description="Its position in the course now (lessons move when others are removed).")
    title: str


class CourseView(BaseModel):
    """A course as one learner sees it: their enrolment, each lesson's state, where to go next."""

    course_id: int
    title: str | None = Field(description="Null for a bought course whose catalog event has not arrived yet.")
    category: str | None
    duration_hours: int | None
    in_catalog: bool = Field(
        description=(
            "The catalog lists the course (published, active, not archived). False for an archived or hidden "
            "course, which only its enrolled learners see: read its content with the catalog's "
            "`include_archived=true`."
        )
    )
    archived: bool = Field(description="The catalog archived the course (final); its enrolled learners keep it.")
    enrolled: bool
    is_completed: bool
    completed_at: datetime | None
    total_lessons: int
    completed_lessons: int
    progress_percent: int = Field(ge=0, le=100)
    lessons: list[LessonState]
    next_lesson_id: int | None = Field(description="The first accessible lesson not completed yet, in course order.")


class LessonProgressOut(BaseModel):
    lesson_id: int
    course_id: int
    completed: bool
    completed_at: datetime | None
    watch_time: int


class LessonCompletion(BaseModel):
    """The answer to a completion, with everything the "lesson completed" message shows."""

    lesson_id: int
    lesson_title: str
    lesson_order: int
    course_id: int
    course_title: str
    newly_completed: bool = Field(description="False when the lesson had been completed before (nothing published).")
    completed_at: datetime
    watch_time: int
    completed_lessons: int
    total_lessons: int
    progress_percent: int = Field(ge=0, le=100)
    course_completed: bool = Field(description="The learner's enrolment on this course is completed.")
    course_newly_completed: bool = Field(description="This call completed the course (course_completed published).")
    next_lesson_id: int | None = Field(description="`next_lesson.lesson_id`.")
    next_lesson: NextLesson | None = Field(
        description="The first lesson the learner can open and has not completed, in course order; null when none."
    )
