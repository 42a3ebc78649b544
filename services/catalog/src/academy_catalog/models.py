"""Tables of the catalog schema: categories, courses (seed `courses`), lessons (seed `lessons`), communities,
the audit log of operators' changes, and the enrolments progress announces (the one table that names
learners, by user id: see `CourseEnrolment` and `ErasedLearner`).

Enumerations are `VARCHAR` + `CHECK` rather than PostgreSQL enum types: adding a value is then one
migration that replaces a constraint, and downgrades have no types to drop.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from academy_runtime.db import service_metadata
from academy_runtime.messaging import Messaging
from academy_runtime.tombstones import ErasedLearnerColumns
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Every table of the catalog schema, with the runtime's naming convention.

    The service metadata of `academy_runtime.db`, declared as a class so that type checkers
    accept the models as subclasses of it (mypy rejects a base class returned by a function).
    """

    metadata = service_metadata("catalog")


messaging = Messaging(Base.metadata)

COURSE_STATUSES = ("draft", "published", "archived")
COMMUNITY_TYPES = ("city", "profession")
SLUG_PATTERN = "^[a-z0-9][a-z0-9_-]*$"  # the contracts' `Slug`


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Category(Base):
    """Reference data: the seven categories of the seed, seeded by the initial migration."""

    __tablename__ = "categories"

    slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    title_ru: Mapped[str] = mapped_column(String(100), nullable=False)
    title_en: Mapped[str] = mapped_column(String(100), nullable=False)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))

    __table_args__ = (CheckConstraint(f"slug ~ '{SLUG_PATTERN}'", name="slug_format"),)


class Course(Base):
    """A course. Learners see it when `status = 'published' AND is_active` (the seed's `is_active`).

    `status` is the publishing life cycle (draft → published → archived, archived is final);
    `is_active` is the seed's visibility switch an operator can flip on a published course.
    """

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stable name of a course that a script maintains (the demo catalog): re-runs upsert by it.
    code: Mapped[str | None] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    full_description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(
        String(100), ForeignKey("catalog.categories.slug", onupdate="CASCADE", ondelete="RESTRICT"), nullable=False
    )
    cover_image_url: Mapped[str | None] = mapped_column(Text)
    is_top: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False, server_default=text("0"))
    currency: Mapped[str] = mapped_column(String(3), nullable=False, server_default=text("'RUB'"))
    duration_hours: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default=text("'draft'"))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )

    # Server defaults (created_at, status...) come back in the INSERT's RETURNING: no lazy load later.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy's declarative hook

    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="course", lazy="raise", order_by="Lesson.order", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso_code"),
        # Telegram Stars have no fractions.
        CheckConstraint("currency <> 'XTR' OR price = trunc(price)", name="stars_price_whole"),
        CheckConstraint("duration_hours IS NULL OR duration_hours >= 0", name="duration_hours_non_negative"),
        CheckConstraint(_in("status", COURSE_STATUSES), name="status_known"),
        CheckConstraint("status <> 'published' OR published_at IS NOT NULL", name="published_has_published_at"),
        CheckConstraint("(status = 'archived') = (archived_at IS NOT NULL)", name="archived_iff_archived_at"),
        # The learner-facing listing: published, active, by category, top courses first.
        Index(
            "ix_courses_listing",
            "category",
            "is_top",
            "published_at",
            postgresql_where=text("status = 'published' AND is_active"),
        ),
    )


class Lesson(Base):
    """A lesson of a course. The column keeps the seed's name `order` (quoted in SQL: it is a keyword)."""

    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("catalog.courses.id", ondelete="CASCADE"), nullable=False)
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    order: Mapped[int] = mapped_column(Integer, nullable=False)
    video_url: Mapped[str | None] = mapped_column(Text)
    video_duration: Mapped[int | None] = mapped_column(Integer)
    pdf_url: Mapped[str | None] = mapped_column(Text)
    is_free: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy's declarative hook

    course: Mapped[Course] = relationship(back_populates="lessons", lazy="raise")

    __table_args__ = (
        # The seed's idx_course_order / idx_lessons_course_order: the unique constraint is that index.
        # DEFERRABLE so that a reorder can swap positions inside one transaction (SET CONSTRAINTS ... DEFERRED);
        # INITIALLY IMMEDIATE so that ordinary writes fail at the statement, not at commit.
        UniqueConstraint("course_id", "order", deferrable=True, initially="IMMEDIATE"),
        CheckConstraint('"order" >= 1', name="order_positive"),
        CheckConstraint("video_duration IS NULL OR video_duration >= 0", name="video_duration_non_negative"),
    )


class Community(Base):
    """A Telegram community chat: of a city (`type = 'city'`) or of a profession (`type = 'profession'`)."""

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str | None] = mapped_column(String(100), unique=True)  # as Course.code
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(50), nullable=False)
    city: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(
        String(100), ForeignKey("catalog.categories.slug", onupdate="CASCADE", ondelete="RESTRICT")
    )
    telegram_link: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint(_in("type", COMMUNITY_TYPES), name="type_known"),
        CheckConstraint("type <> 'city' OR city IS NOT NULL", name="city_community_has_city"),
        CheckConstraint("type <> 'profession' OR category IS NOT NULL", name="profession_community_has_category"),
        CheckConstraint("telegram_link ~ '^(https://t\\.me/|tg://)'", name="telegram_link_format"),
        # Learners type their city freely ("Москва", "москва"): lookups compare lower(city).
        Index("ix_communities_city", text("lower(city)"), postgresql_where=text("type = 'city'")),
        Index("ix_communities_category", "category", postgresql_where=text("type = 'profession'")),
    )


class CourseEnrolment(Base):
    """Enrolments other services announced (`progress.course_enrolled.v1`), to find the course of the month.

    One row per learner and course rather than a counter: the same enrolment announced twice (a
    redelivery under another event id, a replay) stays one row (`UNIQUE (user_id, course_id)`), and
    counts per month are a GROUP BY. No foreign key to `courses`: an event about a course this catalog no
    longer has must not jam the queue; the top-course query joins on the courses that exist.

    An erased learner's rows stay for the counts, detached from them (`enrolments.service.erase_learner`):
    `user_id` null, `enrolled_at` cut to the start of its day in `CATALOG_TIMEZONE` (the month it counts
    in does not change). The surrogate `id` is the key because those rows have no user.
    """

    __tablename__ = "course_enrolments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # Null once the learner was erased.
    user_id: Mapped[int | None] = mapped_column(Integer)
    course_id: Mapped[int] = mapped_column(Integer, nullable=False)
    enrolled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        Index("ix_course_enrolments_enrolled_at", "enrolled_at", "course_id"),
    )


class ErasedLearner(ErasedLearnerColumns, Base):
    """A learner whose data was erased (`users.user_erased.v2`): the id alone. An enrolment of theirs
    announced after the erasure (delivered late, or again) is not recorded."""

    __tablename__ = "erased_learners"


class AuditLog(Base):
    """Who changed the catalog: one row per operator command that took effect (issue 9 §3: "the
    operator's name in the audit log for every change they make"). `actor` is `operator:<name>` (or a
    service's name), `action` e.g. `course_published`, `subject_id` the course, lesson's course,
    community or category id the change answered with, `details` the command as sent."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    action: Mapped[str] = mapped_column(String(100), nullable=False)
    subject_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (Index("ix_audit_log_actor_created_at", "actor", "created_at"),)
