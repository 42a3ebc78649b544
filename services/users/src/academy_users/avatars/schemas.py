"""The avatar API's shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from academy_runtime.ids import IntegerId
from pydantic import BaseModel, ConfigDict, Field

AvatarSize = Literal["large", "small"]
"""Which rendition: `large` (512 px square) or `small` (128 px square), both WEBP."""


class AvatarOut(BaseModel):
    """One avatar of a learner's history. `content_type`, `width`, `height` and `size_bytes` are those of
    the large rendition (WEBP, a square of at most 512 px); `original_*` describe the upload as sent."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="The avatar's id (in the learner's history).")
    is_current: bool = Field(description="Whether it is the learner's avatar now (at most one is).")
    content_type: str = Field(description="Media type of the processed images: `image/webp`.")
    width: int = Field(description="Width of the large image in pixels.")
    height: int = Field(description="Height of the large image in pixels (square: equal to the width).")
    size_bytes: int = Field(description="Size of the large image in bytes.")
    original_content_type: str = Field(description="Media type of the upload, checked against its bytes.")
    original_size_bytes: int = Field(description="Size of the upload in bytes.")
    created_at: datetime = Field(description="When it was uploaded.")


class SetCurrentAvatar(BaseModel):
    """Command: make an earlier avatar of the learner's history the current one again."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"avatar_id": 1}]})

    avatar_id: IntegerId = Field(description="An avatar of this learner (GET .../avatars lists them).")
