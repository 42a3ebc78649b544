from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from academy_progress.transcripts.texts import Language


class RequestTranscript(BaseModel):
    """Optional details for the PDF; the progress service does not hold learners' names."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"full_name": "Анна Смирнова", "language": "ru"}]}
    )

    full_name: str | None = Field(default=None, min_length=1, max_length=255)
    language: str | None = Field(
        default=None,
        max_length=35,
        pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{1,8})*$",
        description="The learner's language as a tag (`ru`, `en`, `en-GB`...): the transcript is in English "
        "for `en`, in Russian for `ru`, for any other language and when left out.",
        examples=["en"],
    )


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
    language: Language = Field(description="The language the PDF is in.")
    object_key: str = Field(description="Key of the PDF in the S3 bucket.")
    download_url: str = Field(description="Presigned GET URL of the PDF, valid for a few minutes.")
    generated_at: datetime = Field(description="When this version of the PDF was rendered.")
    regenerated: bool = Field(description="False when the stored PDF was still current and was handed out again.")
