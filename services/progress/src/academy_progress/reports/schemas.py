from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class PopularCourse(BaseModel):
    course_id: int
    title: str
    category: str
    students_count: int


class InactiveLearner(BaseModel):
    user_id: int
    last_activity_at: datetime | None = Field(description="Latest lesson completion; null when none ever.")
    last_enrolled_at: datetime = Field(description="When the learner's latest unfinished enrolment began.")


class LearnerIdsPage(BaseModel):
    """One page of learner ids, ascending; `next_after_user_id` is the `after_user_id` of the next page
    (null: this was the last)."""

    user_ids: list[int]
    next_after_user_id: int | None
