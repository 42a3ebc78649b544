from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class LearnerPointsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: int
    total_points: int
    level: int
    lessons_completed: int
    courses_completed: int
