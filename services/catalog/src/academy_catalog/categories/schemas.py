from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

CategoryTitle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    title_ru: str
    title_en: str
    sort_order: int


class CreateCategory(BaseModel):
    """Command: add a category (the seed's seven come with the schema)."""

    model_config = ConfigDict(extra="forbid")

    slug: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)] = Field(
        description="Lower-case latin letters, digits, `-` and `_`: `nail-art`."
    )
    title_ru: CategoryTitle
    title_en: CategoryTitle
    sort_order: int | None = Field(default=None, ge=0, le=10_000, description="Default: after the last one.")
