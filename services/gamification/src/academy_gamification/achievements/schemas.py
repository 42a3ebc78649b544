from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class LearnerAchievementOut(BaseModel):
    achievement_id: int
    code: str
    title: str
    title_en: str | None
    description: str
    description_en: str | None
    icon_url: str | None
    points: int
    category: str | None
    condition_type: str
    condition_value: int
    progress: int  # how far the learner is, capped at condition_value
    unlocked: bool
    earned_at: datetime | None


class LearnerAchievementsOut(BaseModel):
    items: list[LearnerAchievementOut]
