from __future__ import annotations

from pydantic import BaseModel


class LearnerPointsOut(BaseModel):
    user_id: int
    total_points: int
    level: int
    level_title_ru: str
    level_title_en: str
    min_points: int  # threshold of the current level
    next_level_points: int | None  # threshold of the next level; null at the top level
    points_to_next_level: int | None
    lessons_completed: int
    courses_completed: int
    streak_days: int  # consecutive days up to today or yesterday; 0 when the streak is broken
    longest_streak_days: int
