from __future__ import annotations

from datetime import time
from typing import Self

from academy_runtime.settings import ServiceSettings
from pydantic import Field, model_validator


class ProgressSettings(ServiceSettings):
    service_name: str = "progress"
    db_schema: str = "progress"
    http_port: int = 8103
    worker_metrics_port: int = 9103
    database_url: str = "postgresql+asyncpg://academy_progress@127.0.0.1:5432/beauty_academy"

    # Inactivity reminders (seed query 3 feeding progress.learner_inactive.v1).
    reminder_inactive_days: int = Field(default=7, ge=1, le=365, description="Days without a completed lesson.")
    reminder_period_days: int = Field(
        default=7, ge=1, le=365, description="Length of the fixed reminder periods: at most one reminder per period."
    )
    reminder_window_start: time = Field(default=time(10, 0), description="Earliest local time of a reminder.")
    reminder_window_end: time = Field(default=time(21, 0), description="Local time from which no reminder goes out.")
    reminder_check_interval_s: float = Field(default=600.0, gt=0, description="How often the worker looks.")
    reminder_batch_size: int = Field(default=1000, ge=1, description="Learners examined per check at most.")

    # Transcripts: the PDF's download link handed to the bot.
    transcript_url_ttl_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)

    # The users service: the learner's current avatar, drawn on the transcript (issue 10). A transcript is
    # produced without it when users does not answer within the timeout.
    users_url: str = Field(default="http://127.0.0.1:8101", description="The users service (avatars).")
    users_timeout_s: float = Field(default=3.0, gt=0, le=30, description="Time allowed for the avatar call.")
    avatar_max_bytes: int = Field(
        default=512 * 1024, gt=0, description="A small avatar larger than this is not drawn (bytes)."
    )
    avatar_max_side_px: int = Field(
        default=2048, gt=0, le=8192, description="A small avatar wider or taller than this is not drawn (pixels)."
    )

    # Erasures: how often the worker finishes what an erasure left (objects after an S3 outage, learners
    # erased before progress deleted anything).
    erasure_sweep_interval_s: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _window_is_a_daytime_interval(self) -> Self:
        if self.reminder_window_start >= self.reminder_window_end:
            raise ValueError("REMINDER_WINDOW_START must be earlier than REMINDER_WINDOW_END (same day)")
        return self
