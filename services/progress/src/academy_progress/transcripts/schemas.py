from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class RequestTranscript(BaseModel):
    """Optional details for the PDF; the progress service does not hold learners' names."""

    model_config = ConfigDict(extra="forbid")

    full_name: str | None = Field(default=None, min_length=1, max_length=255)


class TranscriptCourse(BaseModel):
    course_id: int
    title: str | None
    category: str | None
    enrolled_at: datetime
    completed_at: datetime
    duration_hours: int | None


class TranscriptOut(BaseModel):
    user_id: int
    courses: list[TranscriptCourse]
    total_hours: int
    object_key: str = Field(description="Key of the PDF in the S3 bucket.")
    download_url: str = Field(description="Presigned GET URL of the PDF, valid for a few minutes.")
    generated_at: datetime = Field(description="When this version of the PDF was rendered.")
    regenerated: bool = Field(description="False when the stored PDF was still current and was handed out again.")
