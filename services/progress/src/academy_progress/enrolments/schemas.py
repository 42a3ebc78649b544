from __future__ import annotations

from datetime import datetime
from typing import Literal

from academy_runtime.ids import CourseId
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

EnrolmentSource = Literal["free", "purchase", "operator"]


class EnrolInFreeCourse(BaseModel):
    """Command: give the learner access to a free course."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"course_id": 1}]})

    course_id: CourseId


class EnrolmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    course_id: int
    source: EnrolmentSource
    purchase_id: int | None
    # Read from the row's `purchased_at` (the seed's name) and from a stored answer's `enrolled_at`.
    enrolled_at: datetime = Field(
        validation_alias=AliasChoices("enrolled_at", "purchased_at"), description="When access was granted."
    )
    is_completed: bool
    completed_at: datetime | None


class EnrolmentResult(BaseModel):
    enrolment: EnrolmentOut
    created: bool = Field(description="True when this call enrolled the learner")


class LearnerCourse(BaseModel):
    """One course of the learner with their progress (the seed's example query 1)."""

    course_id: int
    title: str | None = Field(description="Null until the catalog's course_published event has arrived.")
    category: str | None
    source: EnrolmentSource
    enrolled_at: datetime
    is_completed: bool
    completed_at: datetime | None
    total_lessons: int
    completed_lessons: int
    progress_percent: int = Field(ge=0, le=100)
