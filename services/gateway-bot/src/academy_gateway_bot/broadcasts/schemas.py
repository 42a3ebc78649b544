"""The operators' broadcast API: what they send and what they get back (issue 12)."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Self

from academy_runtime.fields import NoControlCharacters, json_integer
from academy_runtime.ids import INT64_MAX
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from academy_gateway_bot.broadcasts.formatting import CAPTION_LIMIT, TEXT_LIMIT, TelegramHtmlError, visible_length

BroadcastStatus = Literal["draft", "scheduled", "sending", "paused", "cancelled", "finished"]
SegmentKind = Literal["everyone", "city", "category", "inactive", "course"]
Locale = Literal["ru", "en"]

_FILE_ID = re.compile(r"^[A-Za-z0-9_-]{10,255}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_TEXT_KEPT_CONTROLS = frozenset("\n\t")
SCHEDULE_AHEAD_MAX = timedelta(days=366)
"""How far ahead a broadcast may be scheduled: a year (a later date is a typo, and the text would be stale)."""


def _html_text(value: str) -> str:
    """A message text: not blank, no control character but line breaks and tabs, Telegram HTML."""
    if not value.strip():
        raise PydanticCustomError("empty_text", "empty_text: the message has no text")
    for char in value:
        if char not in _TEXT_KEPT_CONTROLS and unicodedata.category(char) == "Cc":
            raise PydanticCustomError(
                "control_characters",
                "control_characters: only line breaks and tabs, found {code_point}",
                {"code_point": f"U+{ord(char):04X}"},
            )
    try:
        length = visible_length(value)
    except TelegramHtmlError as exc:
        raise PydanticCustomError("bad_html", "bad_html: {reason}", {"reason": str(exc)}) from exc
    if length == 0:
        raise PydanticCustomError("empty_text", "empty_text: the message has no text outside its markup")
    if length > TEXT_LIMIT:
        raise PydanticCustomError(
            "text_too_long",
            "text_too_long: {length} characters, Telegram takes {limit}",
            {"length": length, "limit": TEXT_LIMIT},
        )
    return value


HtmlText = Annotated[str, StringConstraints(min_length=1, max_length=20_000), AfterValidator(_html_text)]
"""Telegram HTML of at most 4096 characters of text (1024 under a photo: checked with the photo)."""
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), NoControlCharacters]


def _photo(value: str) -> str:
    if _URL.match(value) or _FILE_ID.match(value):
        return value
    raise PydanticCustomError("bad_photo", "bad_photo: an http(s) URL or a Telegram file_id")


Photo = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2048), AfterValidator(_photo)]


def _url(value: str) -> str:
    if not _URL.match(value):
        raise PydanticCustomError("bad_url", "bad_url: an http:// or https:// address")
    return value


class Button(BaseModel):
    """A URL button under the message: `text_ru`, and `text_en` for English readers (else `text_ru`)."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2048), AfterValidator(_url)]
    text_ru: Label
    text_en: Label | None = None


SegmentName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoControlCharacters
]


class EveryoneSegment(BaseModel):
    """Every learner the gateway can reach."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["everyone"]
    value: None = None


class CitySegment(BaseModel):
    """The learners of a city, by its name as learners give it (any case)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["city"]
    value: SegmentName = Field(examples=["Казань"])


class CategorySegment(BaseModel):
    """The learners of any course of a catalog category (its slug, as the catalog writes it)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["category"]
    value: str = Field(max_length=100, pattern=r"^[a-z0-9][a-z0-9_-]*$", examples=["manicure"])


class InactiveSegment(BaseModel):
    """Learners with an unfinished course and no lesson completed for `value` days."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["inactive"]
    value: json_integer(ge=1, le=365) = Field(examples=[14])  # type: ignore[valid-type]


class CourseSegment(BaseModel):
    """The learners of one course (its id in the catalog)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["course"]
    value: json_integer(ge=1, le=2**31 - 1) = Field(examples=[1])  # type: ignore[valid-type]


Segment = Annotated[
    EveryoneSegment | CitySegment | CategorySegment | InactiveSegment | CourseSegment, Field(discriminator="kind")
]
"""Who gets the broadcast: `{"kind": "everyone"}`, `{"kind": "city", "value": "Казань"}`, `{"kind": "category",
"value": "<slug>"}`, `{"kind": "inactive", "value": <days 1..365>}`, `{"kind": "course", "value": <course id>}`."""


class CreateBroadcast(BaseModel):
    """A new broadcast (a draft): Russian text (Telegram HTML), optional English text, photo, button."""

    model_config = ConfigDict(extra="forbid")

    text_ru: HtmlText
    text_en: HtmlText | None = None
    photo: Photo | None = Field(
        default=None, description="An http(s) URL or a Telegram file_id; the text is its caption."
    )
    button: Button | None = None
    segment: Segment

    @model_validator(mode="after")
    def _caption_fits(self) -> Self:
        if self.photo is None:
            return self
        for text in (self.text_ru, self.text_en):
            if text is not None and visible_length(text) > CAPTION_LIMIT:
                raise PydanticCustomError(
                    "text_too_long",
                    "text_too_long: a caption under a photo takes {limit} characters",
                    {"limit": CAPTION_LIMIT},
                )
        return self


class SendBroadcast(BaseModel):
    """Send now, or at `scheduled_at` (a moment with its offset; one in the past means now)."""

    model_config = ConfigDict(extra="forbid")

    scheduled_at: AwareDatetime | None = None

    @field_validator("scheduled_at")
    @classmethod
    def _within_a_year(cls, value: datetime | None) -> datetime | None:
        """At most SCHEDULE_AHEAD_MAX ahead, in UTC. A moment whose UTC falls past year 9999
        (`9999-12-31T23:59:59-00:01`) cannot be stored at all (it was a 500: asyncpg's date out of range)."""
        if value is None:
            return None
        try:
            moment = value.astimezone(UTC)
        except OverflowError:
            moment = datetime.max.replace(tzinfo=UTC)
        if moment > datetime.now(UTC) + SCHEDULE_AHEAD_MAX:
            raise PydanticCustomError(
                "schedule_too_far",
                "schedule_too_far: a broadcast is scheduled at most {days} days ahead",
                {"days": SCHEDULE_AHEAD_MAX.days},
            )
        return moment


class PreviewBroadcast(BaseModel):
    """Where to preview: `chat_id` (the operator's Telegram chat), else the chat configured for the operator
    (`BROADCAST_PREVIEW_CHATS`); `locale` one variant, else each the broadcast has."""

    model_config = ConfigDict(extra="forbid")

    chat_id: Annotated[int, Field(ge=1, le=INT64_MAX, examples=[880001])] | None = None
    locale: Locale | None = None


class Figures(BaseModel):
    """How the broadcast stands, from its recipients: `recipients` listed (0 until the segment is resolved),
    and how many are `pending` (deferred ones too), `sending` (claimed, in flight), `sent`, `blocked` (the
    learner blocked the bot), `failed` (Telegram refused), `skipped` (opted out of announcements, or the
    broadcast was cancelled) and `unknown` (a sender stopped between the Bot API call and its mark: not sent
    again, at most once)."""

    recipients: int = 0
    pending: int = 0
    sending: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    skipped: int = 0
    unknown: int = 0


class BroadcastOut(BaseModel):
    """A broadcast with its figures."""

    id: int
    status: BroadcastStatus
    text_ru: str
    text_en: str | None
    photo: str | None
    button: Button | None
    segment: dict[str, Any]
    scheduled_at: datetime | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    resolved_at: datetime | None
    finished_at: datetime | None
    figures: Figures


class BroadcastPage(BaseModel):
    """Broadcasts, newest first; `next_before_id` is the `before_id` of the next page (null: the last)."""

    items: list[BroadcastOut]
    next_before_id: int | None


class PreviewMessage(BaseModel):
    locale: Locale
    message_id: int


class PreviewOut(BaseModel):
    chat_id: int
    messages: list[PreviewMessage]
