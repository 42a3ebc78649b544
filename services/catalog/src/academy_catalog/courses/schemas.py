from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from academy_runtime.decimals import decimal_schema
from academy_runtime.fields import omit_null
from academy_runtime.ids import LessonId
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^https?://\S+$", max_length=2048)]
CategorySlug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
# NUMERIC(10, 2): up to 99999999.99, in cents; the schema says so for numbers and strings alike.
Price = Annotated[
    Decimal,
    Field(ge=0, max_digits=10, decimal_places=2, description="0 for a free course."),
    decimal_schema(10, 2),
]
CourseStatus = Literal["draft", "published", "archived"]
LessonPosition = Annotated[int, Field(ge=1, le=10_000)]
VideoSeconds = Annotated[int, Field(ge=0, le=86_400, description="Seconds.")]
HoursCount = Annotated[int, Field(ge=0, le=10_000)]

TELEGRAM_STARS = "XTR"
CENTS = Decimal("0.01")


def _stars_are_whole(currency: str | None, price: Decimal | None) -> None:
    if currency == TELEGRAM_STARS and price is not None and price != price.to_integral_value():
        raise ValueError("Telegram Stars (XTR) prices are whole numbers")


def _not_cleared(cls: type[BaseModel], value: object) -> object:  # noqa: ARG001 - a pydantic class validator
    if value is None:
        raise ValueError("cannot be null")
    return value


class LessonFields(BaseModel):
    """What describes a lesson, apart from its position."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Text | None = None
    video_url: Url | None = None
    video_duration: VideoSeconds | None = None
    pdf_url: Url | None = Field(default=None, description="PDF checklist of the lesson.")
    is_free: bool = Field(default=False, description="Open without buying the course (preview).")


class LessonIn(LessonFields):
    order: LessonPosition = Field(description="Position in the course: the lessons of a course are numbered 1..n.")


class AddLesson(LessonFields):
    """Command: add a lesson; without `order` it goes last, with one the lessons from there move down."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Обработка стоп",
                    "description": "Размягчение, обработка пяток и межпальцевых зон",
                    "video_url": "https://cdn.example/pedicure/2.mp4",
                    "video_duration": 1500,
                }
            ]
        },
    )

    order: LessonPosition | None = None


class EditLesson(BaseModel):
    """Command: change some fields of a lesson (absent fields stay; `null` clears an optional one)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"title": "Подготовка рабочего места и инструментов", "is_free": True}]},
    )

    # `title` and `is_free` may be left out, not cleared: the schema offers no null (`omit_null`), the
    # validator refuses one.
    title: Title | None = Field(default=None, json_schema_extra=omit_null)
    description: Text | None = None
    video_url: Url | None = None
    video_duration: VideoSeconds | None = None
    pdf_url: Url | None = None
    is_free: bool | None = Field(default=None, json_schema_extra=omit_null)

    # Field validators run only for fields the caller sent, so a 422 names the field set to null.
    _not_null = field_validator("title", "is_free")(_not_cleared)


class ReorderLessons(BaseModel):
    """Command: the course's lesson ids in their new order (every lesson exactly once)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"lesson_ids": [3, 1, 2]}]})

    lesson_ids: list[LessonId] = Field(min_length=1, max_length=500)

    @field_validator("lesson_ids")
    @classmethod
    def _each_once(cls, lesson_ids: list[int]) -> list[int]:
        if len(set(lesson_ids)) != len(lesson_ids):
            raise ValueError("each lesson id appears once")
        return lesson_ids


class CreateCourse(BaseModel):
    """Command: create a draft course with its lessons (publishing is a separate step)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "hardware-manicure-basics",
                    "title": "Аппаратный маникюр: базовый курс",
                    "description": "С нуля до первой клиентки",
                    "category": "manicure",
                    "price": "4900.00",
                    "currency": "RUB",
                    "duration_hours": 12,
                    "lessons": [
                        {"title": "Подготовка рабочего места", "order": 1, "is_free": True, "video_duration": 540},
                        {
                            "title": "Снятие покрытия",
                            "order": 2,
                            "video_url": "https://cdn.example/manicure/2.mp4",
                            "video_duration": 1260,
                        },
                    ],
                }
            ]
        },
    )

    code: Code | None = Field(default=None, description="Optional stable name, unique (scripts upsert by it).")
    title: Title
    description: Text = Field(description="Short description shown in lists.")
    full_description: Text | None = None
    category: CategorySlug = Field(description="A category slug from GET /internal/categories.")
    cover_image_url: Url | None = None
    is_top: bool = False
    currency: CurrencyCode = Field(default="RUB", description="ISO 4217 code, or XTR for Telegram Stars.")
    price: Price = Decimal(0)
    duration_hours: HoursCount | None = None
    is_active: bool = True
    lessons: list[LessonIn] = Field(min_length=1, max_length=500)

    @field_validator("price")
    @classmethod
    def _stars_are_whole(cls, price: Decimal, info: ValidationInfo) -> Decimal:
        # `currency` is declared before `price`, so it is already validated here.
        _stars_are_whole(info.data.get("currency"), price)
        # Stored as NUMERIC(10, 2): answer with the value as stored ("5900.00", not "5900").
        return price.quantize(CENTS)

    @field_validator("lessons")
    @classmethod
    def _lessons_are_numbered_from_one(cls, lessons: list[LessonIn]) -> list[LessonIn]:
        orders = [lesson.order for lesson in lessons]
        repeated = sorted({o for o in orders if orders.count(o) > 1})
        if repeated:
            raise ValueError(f"each lesson needs its own order; repeated: {repeated}")
        if sorted(orders) != list(range(1, len(orders) + 1)):
            raise ValueError(f"lesson orders are 1..{len(orders)} without gaps; got {sorted(orders)}")
        return lessons


class EditCourse(BaseModel):
    """Command: change some fields of a course (absent fields stay; `null` clears an optional one).

    Publishing and archiving have their own commands; the lessons theirs.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"price": "5900.00", "duration_hours": 14}, {"is_top": True}]},
    )

    # Fields a course always has may be left out, not cleared: the schema offers no null for them
    # (`omit_null`), the validator refuses one. The optional ones take null to clear them.
    title: Title | None = Field(default=None, json_schema_extra=omit_null)
    description: Text | None = Field(default=None, json_schema_extra=omit_null)
    full_description: Text | None = None
    category: CategorySlug | None = Field(default=None, json_schema_extra=omit_null)
    cover_image_url: Url | None = None
    is_top: bool | None = Field(default=None, json_schema_extra=omit_null)
    currency: CurrencyCode | None = Field(default=None, json_schema_extra=omit_null)
    price: Price | None = Field(default=None, json_schema_extra=omit_null)
    duration_hours: HoursCount | None = None
    is_active: bool | None = Field(default=None, json_schema_extra=omit_null)

    _not_null = field_validator("title", "description", "category", "is_top", "currency", "price", "is_active")(
        _not_cleared
    )

    @field_validator("price")
    @classmethod
    def _stars_are_whole(cls, price: Decimal | None, info: ValidationInfo) -> Decimal | None:
        _stars_are_whole(info.data.get("currency"), price)
        # Stored as NUMERIC(10, 2): answer with the value as stored ("5900.00", not "5900").
        return None if price is None else price.quantize(CENTS)


class LessonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    course_id: int
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
    code: str | None
    title: str
    description: str
    full_description: str | None
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
    free_lessons_count: int = Field(description="Lessons open without buying the course (previews).")


class CourseDetail(CourseOut):
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lessons: list[LessonOut] = Field(description="Lessons in `order`.")


class CoursePage(BaseModel):
    items: list[CourseOut]
    page: int
    page_size: int
    total: int = Field(description="Courses matching the filter, on every page together.")
