from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from academy_progress.transcripts.texts import Language


class RequestTranscript(BaseModel):
    """Optional details for the PDF. The learner's name is not one: progress reads it from the users service
    when it renders, and holds no learner's name."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"language": "ru"}]})

    full_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        deprecated=True,
        description="Ignored: the PDF shows the name the users service holds. Accepted until the gateway stops "
        "sending it.",
    )
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


class IssuedTranscript(BaseModel):
    """The transcript progress records as issued to the learner (its latest rendition)."""

    object_key: str | None = Field(description="Key of the PDF in the S3 bucket.")
    language: Language | None = Field(description="The language the PDF is in (null: issued before it was kept).")
    course_ids: list[int] = Field(description="The completed courses it lists.")
    total_hours: int | None
    generated_at: datetime | None = Field(description="When this rendition was rendered (issued).")


class StoredTranscriptFile(BaseModel):
    """A PDF progress keeps under `transcripts/<user_id>/` in S3 (earlier renditions too, until an erasure)."""

    object_key: str
    size_bytes: int | None
    last_modified: datetime | None


class LearnerTranscriptsOut(BaseModel):
    """What progress holds of the learner's transcripts, for their personal-data export («Мои данные»)."""

    user_id: int
    transcripts: list[IssuedTranscript] = Field(description="The issued transcript (at most one: the latest).")
    files: list[StoredTranscriptFile] = Field(
        description="Every transcript PDF stored for the learner; each shows their full name, and their avatar "
        "when they had one."
    )
