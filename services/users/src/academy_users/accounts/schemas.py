from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Locale = Literal["ru", "en"]


class RegisterLearner(BaseModel):
    """Command: make sure the Telegram user is a learner (idempotent on telegram_id)."""

    model_config = ConfigDict(extra="forbid")

    telegram_id: int = Field(gt=0, description="Telegram user id")
    username: str | None = Field(default=None, max_length=255)
    locale: Locale = "ru"


class LearnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    telegram_id: int
    username: str | None
    full_name: str | None
    city: str | None
    locale: str
    consent_personal_data: bool
    is_active: bool
    created_at: datetime


class RegistrationOut(BaseModel):
    learner: LearnerOut
    created: bool = Field(description="True when this call registered the learner")
