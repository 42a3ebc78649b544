from __future__ import annotations

import zoneinfo
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, field_validator

from academy_progress.models import DEFAULT_TIMEZONE


@cache
def _known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_known_timezone(name: str) -> bool:
    return name in _known_timezones()


class LearnerPreferencesOut(BaseModel):
    user_id: int
    timezone: str = Field(description="IANA time zone name, e.g. Europe/Moscow.")
    reminders_opt_out: bool


class UpdateLearnerPreferences(BaseModel):
    """Command: change the learner's preferences; a field left out keeps its value."""

    model_config = ConfigDict(extra="forbid")

    timezone: str | None = Field(default=None, max_length=64, examples=[DEFAULT_TIMEZONE, "Asia/Vladivostok"])
    reminders_opt_out: bool | None = None

    @field_validator("timezone")
    @classmethod
    def _iana_name(cls, value: str | None) -> str | None:
        if value is not None and not is_known_timezone(value):
            raise ValueError("not an IANA time zone name (e.g. Europe/Moscow)")
        return value
