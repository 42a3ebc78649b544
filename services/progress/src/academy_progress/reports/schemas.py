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
