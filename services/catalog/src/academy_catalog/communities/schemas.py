from __future__ import annotations

from typing import Annotated, Literal

from academy_runtime.fields import omit_null
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

CommunityType = Literal["city", "profession"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5_000)]
City = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
CategorySlug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)]
# What the database's CHECK accepts, narrowed to links Telegram opens: a public link or a tg:// one.
TelegramLink = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, pattern=r"^(https://t\.me/[A-Za-z0-9_+\-/]+|tg://[A-Za-z0-9_?=&./\-]+)$", max_length=500
    ),
]


class CommunityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str | None
    title: str
    description: str | None
    type: CommunityType
    city: str | None
    category: str | None
    telegram_link: str


class CreateCommunity(BaseModel):
    """Command: a chat of a city (`type=city`, with `city`) or of a profession (`type=profession`, with `category`)."""

    model_config = ConfigDict(extra="forbid")

    code: Code | None = Field(default=None, description="Optional stable name, unique (scripts upsert by it).")
    title: Title
    description: Description | None = None
    type: CommunityType
    city: City | None = None
    category: CategorySlug | None = None
    telegram_link: TelegramLink = Field(description="https://t.me/... or tg://...")


def _not_cleared(cls: type[BaseModel], value: object) -> object:  # noqa: ARG001 - a pydantic class validator
    if value is None:
        raise ValueError("cannot be null")
    return value


class EditCommunity(BaseModel):
    """Command: change some fields (absent fields stay; `null` clears `description`, `city` or `category`)."""

    model_config = ConfigDict(extra="forbid")

    # `title`, `type` and `telegram_link` may be left out, not cleared: no null in the schema
    # (`omit_null`), and the validator refuses one.
    title: Title | None = Field(default=None, json_schema_extra=omit_null)
    description: Description | None = None
    type: CommunityType | None = Field(default=None, json_schema_extra=omit_null)
    city: City | None = None
    category: CategorySlug | None = None
    telegram_link: TelegramLink | None = Field(default=None, json_schema_extra=omit_null)

    _not_null = field_validator("title", "type", "telegram_link")(_not_cleared)


class DeletedCommunity(BaseModel):
    id: int
    deleted: bool = True
