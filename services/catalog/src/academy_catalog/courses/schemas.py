from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^https?://\S+$", max_length=2048)]
CategorySlug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
CourseStatus = Literal["draft", "published", "archived"]

TELEGRAM_STARS = "XTR"


class LessonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Text | None = None
    order: int = Field(ge=1, le=10_000, description="Position in the course, from 1; unique within the course.")
    video_url: Url | None = None
    video_duration: int | None = Field(default=None, ge=0, le=86_400, description="Seconds.")
    pdf_url: Url | None = Field(default=None, description="PDF checklist of the lesson.")
    is_free: bool = Field(default=False, description="Open without buying the course (preview).")


class CreateCourse(BaseModel):
    """Command: create a draft course with its lessons (publishing is a separate step)."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Text = Field(description="Short description shown in lists.")
    full_description: Text | None = None
    category: CategorySlug = Field(description="A category slug from GET /internal/categories.")
    cover_image_url: Url | None = None
    is_top: bool = False
    currency: CurrencyCode = Field(default="RUB", description="ISO 4217 code, or XTR for Telegram Stars.")
    price: Decimal = Field(
        default=Decimal(0), ge=0, max_digits=10, decimal_places=2, description="0 for a free course."
    )
    duration_hours: int | None = Field(default=None, ge=0, le=10_000)
    is_active: bool = True
    lessons: list[LessonIn] = Field(min_length=1, max_length=500)

    @field_validator("price")
    @classmethod
    def _stars_are_whole(cls, price: Decimal, info: ValidationInfo) -> Decimal:
        # `currency` is declared before `price`, so it is already validated here.
        if info.data.get("currency") == TELEGRAM_STARS and price != price.to_integral_value():
            raise ValueError("Telegram Stars (XTR) prices are whole numbers")
        return price

    @field_validator("lessons")
    @classmethod
    def _lesson_orders_are_unique(cls, lessons: list[LessonIn]) -> list[LessonIn]:
        orders = [lesson.order for lesson in lessons]
        repeated = sorted({o for o in orders if orders.count(o) > 1})
        if repeated:
            raise ValueError(f"each lesson needs its own order; repeated: {repeated}")
        return lessons


class LessonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order: int
    title: str
    description: str | None
    video_url: str | None
    video_duration: int | None
    pdf_url: str | None
    is_free: bool


class CourseOut(BaseModel):
    """A course as listed (no lessons)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str
    category: str
    cover_image_url: str | None
    is_top: bool
    price: Decimal
    currency: str
    duration_hours: int | None
    is_active: bool
    status: CourseStatus
    published_at: datetime | None
    lessons_count: int


class CourseDetail(CourseOut):
    full_description: str | None
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lessons: list[LessonOut] = Field(description="Lessons in `order`.")


class CoursePage(BaseModel):
    items: list[CourseOut]
    page: int
    page_size: int
    total: int = Field(description="Courses matching the filter, on every page together.")
