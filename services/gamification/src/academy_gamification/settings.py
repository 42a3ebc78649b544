from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from academy_runtime.settings import ServiceSettings
from pydantic import Field, field_validator

MAX_LEADERBOARD_LIMIT = 100
"""The most places a leaderboard request may ask for, as its OpenAPI says; the setting may only lower it."""


class GamificationSettings(ServiceSettings):
    service_name: str = "gamification"
    db_schema: str = "gamification"
    http_port: int = 8104
    worker_metrics_port: int = 9104
    database_url: str = "postgresql+asyncpg://academy_gamification@127.0.0.1:5432/beauty_academy"
    welcome_points: int = Field(default=50, ge=1)
    lesson_points: int = Field(default=10, ge=1)
    course_points: int = Field(default=100, ge=1)
    # Calendar days of the daily learning streak are counted in this time zone.
    streak_timezone: str = "Europe/Moscow"
    leaderboard_max_limit: int = Field(default=MAX_LEADERBOARD_LIMIT, ge=1, le=MAX_LEADERBOARD_LIMIT)

    @field_validator("streak_timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def streak_zone(self) -> ZoneInfo:
        return ZoneInfo(self.streak_timezone)
