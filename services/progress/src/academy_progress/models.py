"""Tables of the progress schema.

- `user_courses` (seed): enrolments, one per learner and course;
- `course_purchases`: billing's course purchases as progress heard of them, bought and/or refunded;
- `user_progress` (seed): a learner's progress in one lesson;
- `user_transcripts` (roadmap UserTranscript): the learning record, its PDF in S3;
- `course_projection`, `lesson_projection`: the catalog's courses as its events describe them;
- `inactivity_reminders`, `learner_preferences`: who was reminded of what, and who wants reminders;
- `learners`: the learners the users service announced (or erased), checked before every learner-keyed write;
- `erased_enrolments`: per course, how many erased learners were enrolled and had completed it (numbers
  without the person, so the course's statistics do not drop when a learner is erased).

Users and courses belong to other services: their ids are stored without foreign keys. Nor do the
learner's own rows reference the projections: a projection is a rebuildable cache, and a lesson
that leaves a course must not take the learner's history with it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from academy_runtime.db import service_metadata
from academy_runtime.messaging import Messaging
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Every table of the progress schema, with the runtime's naming convention.

    The service metadata of `academy_runtime.db`, declared as a class so that type checkers
    accept the models as subclasses of it (mypy rejects a base class returned by a function).
    """

    metadata = service_metadata("progress")


# Subjects: a stored answer to a learner's command is about that learner (`user/<id>`), and an erasure
# deletes it (academy_runtime.idempotency, `learners.erasure`).
messaging = Messaging(Base.metadata, idempotency_subjects=True)

ENROLMENT_SOURCES = ("free", "purchase", "operator")
DEFAULT_TIMEZONE = "Europe/Moscow"
# How progress heard of a learner: a users event, or (once, by the migration that made the table) a
# `learner_preferences` row the users service's `user_registered.v2` / `profile_updated.v2` had set.
LEARNER_SOURCES = ("event", "backfill")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UserCourse(Base):
    """An enrolment (seed `user_courses`): the learner has access to the course."""

    __tablename__ = "user_courses"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy's declarative hook

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    course_id: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    # The billing purchase behind a `purchase` enrolment.
    purchase_id: Mapped[int | None] = mapped_column(Integer)
    # The seed's name; it is when access was granted, whatever the source.
    purchased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_completed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))

    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        CheckConstraint(_in("source", ENROLMENT_SOURCES), name="source_known"),
        CheckConstraint("purchase_id IS NULL OR source = 'purchase'", name="purchase_only_for_purchases"),
        CheckConstraint("is_completed = (completed_at IS NOT NULL)", name="completed_iff_completed_at"),
        # The seed's "top 5 courses" counts learners per course.
        Index("ix_user_courses_course_id", "course_id"),
    )


class CoursePurchase(Base):
    """A billing purchase of a course, as told by `course_purchased` and/or `purchase_refunded`.

    Either event may arrive first (retries and redeliveries reorder them), so the row is written by
    whichever comes first and completed by the other: `revoked_at` set means the purchase opens
    nothing any more, whenever its `course_purchased` arrives; a purchase bought and not revoked
    keeps the learner's access when another purchase of the same course is refunded.
    """

    __tablename__ = "course_purchases"

    purchase_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    course_id: Mapped[int] = mapped_column(Integer, nullable=False)
    # billing's time of the purchase; null until its course_purchased has arrived.
    purchased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # billing's time of the refund; null while the purchase stands.
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint("purchased_at IS NOT NULL OR revoked_at IS NOT NULL", name="purchased_or_revoked"),
        # "Another standing purchase of this course by this learner?" when one is refunded.
        Index("ix_course_purchases_user_id_course_id", "user_id", "course_id"),
    )


class UserProgress(Base):
    """A learner's progress in one lesson (seed `user_progress`)."""

    __tablename__ = "user_progress"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy's declarative hook

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    lesson_id: Mapped[int] = mapped_column(Integer, nullable=False)
    # Denormalised from the lesson so that per-course progress needs no trip through the catalog.
    course_id: Mapped[int] = mapped_column(Integer, nullable=False)
    completed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    watch_time: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    # Last activity in the lesson (watching counts, not only completing).
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        # The seed's UNIQUE(user_id, lesson_id); it is also idx_user_progress_user_lesson.
        UniqueConstraint("user_id", "lesson_id"),
        CheckConstraint("watch_time >= 0", name="watch_time_non_negative"),
        CheckConstraint("completed = (completed_at IS NOT NULL)", name="completed_iff_completed_at"),
        # Progress of one learner in one course (the "my courses" query).
        Index("ix_user_progress_user_id_course_id", "user_id", "course_id"),
        # "Learners who completed no lesson in the last 7 days": the latest completion per learner.
        Index("ix_user_progress_user_id_completed_at", "user_id", "completed_at"),
    )


class UserTranscript(Base):
    """The learning record of a learner (roadmap UserTranscript): courses, dates, hours; its PDF in S3."""

    __tablename__ = "user_transcripts"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy's declarative hook

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    # Key of the rendered PDF in the S3 bucket; null until it has been rendered.
    object_key: Mapped[str | None] = mapped_column(Text)
    transcript_data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (CheckConstraint("jsonb_typeof(transcript_data) = 'object'", name="transcript_data_is_object"),)


class CourseProjection(Base):
    """A course as the catalog's events describe it.

    `updated_at` is the catalog's time of the snapshot held (`published_at` / `updated_at` of the
    event), not when this row was written: an older snapshot arriving late is ignored. Archiving is
    final in the catalog, so `archived_at` is never cleared. A course archived before its snapshot
    arrived is a tombstone: no snapshot fields yet, inactive.
    """

    __tablename__ = "course_projection"

    course_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str | None] = mapped_column(String(255))
    category: Mapped[str | None] = mapped_column(String(100))
    price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    duration_hours: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    lessons_total: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    projected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint("price IS NULL OR price >= 0", name="price_non_negative"),
        CheckConstraint("lessons_total >= 0", name="lessons_total_non_negative"),
        CheckConstraint("duration_hours IS NULL OR duration_hours >= 0", name="duration_hours_non_negative"),
        # Either a snapshot (every descriptive field) or a tombstone of an archived course.
        CheckConstraint(
            "(updated_at IS NOT NULL AND title IS NOT NULL AND category IS NOT NULL AND price IS NOT NULL "
            "AND currency IS NOT NULL) OR (updated_at IS NULL AND archived_at IS NOT NULL AND NOT is_active)",
            name="snapshot_or_tombstone",
        ),
        CheckConstraint("archived_at IS NULL OR NOT is_active", name="archived_is_inactive"),
    )


class LessonProjection(Base):
    """A lesson of a projected course (replaced with every applied course snapshot)."""

    __tablename__ = "lesson_projection"

    lesson_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    course_id: Mapped[int] = mapped_column(
        ForeignKey("progress.course_projection.course_id", ondelete="CASCADE"), nullable=False
    )
    # The catalog's (and the seed's) name for the position in the course.
    order: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    is_free: Mapped[bool] = mapped_column(Boolean, nullable=False)
    video_duration: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint('"order" >= 0', name="order_non_negative"),
        CheckConstraint("video_duration IS NULL OR video_duration >= 0", name="video_duration_non_negative"),
        Index("ix_lesson_projection_course_id_order", "course_id", "order"),
    )


class InactivityReminder(Base):
    """A reminder sent for one inactivity period: at most one per learner and period."""

    __tablename__ = "inactivity_reminders"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class LearnerPreferences(Base):
    """When and whether to remind a learner (local time needs the learner's time zone).

    The time zone belongs to the users service: its `user_registered.v3` / `profile_updated.v3` events (v2
    before its issue-10 release) set it here, each only when its `revision` is higher than
    `profile_revision`, so a late event never brings back an older zone. The opt-out is the learner's
    answer to progress itself. An erasure deletes the row.
    """

    __tablename__ = "learner_preferences"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # An IANA name (checked by the application against the tz database; SQL cannot).
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, server_default=text(f"'{DEFAULT_TIMEZONE}'"))
    reminders_opt_out: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    # The users service's revision of the learner whose zone `timezone` holds; null until an event came.
    profile_revision: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        CheckConstraint("length(timezone) > 0", name="timezone_not_empty"),
        CheckConstraint("profile_revision IS NULL OR profile_revision > 0", name="profile_revision_positive"),
    )


class KnownLearner(Base):
    """The learners progress knows of: a projection of `users.user_registered` and `users.user_erased`
    (`learners.consumers`). Every write keyed by a learner id checks it first (`learners.service`). An
    erasure is kept whatever the order the events arrive in (`registered_at` is null when it came first, or
    for a backfilled row); the row is never deleted: it is what refuses a later write for the erased id.

    After an erasure (`learners.erasure`): `forgotten_at` once the learner's rows are deleted (in the
    erasure's transaction, or by the sweep for learners erased before progress deleted anything), and
    `objects_removed_at` once their transcript PDFs are deleted from S3 (after the commit, or by the sweep).
    """

    __tablename__ = "learners"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    forgotten_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    objects_removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(_in("source", LEARNER_SOURCES), name="source_known"),
        CheckConstraint("forgotten_at IS NULL OR erased_at IS NOT NULL", name="forgotten_only_if_erased"),
        CheckConstraint("objects_removed_at IS NULL OR forgotten_at IS NOT NULL", name="objects_after_rows"),
        # The sweep's work: erased learners whose rows or objects are not gone yet.
        Index(
            "ix_learners_erased_pending",
            "user_id",
            postgresql_where=text("erased_at IS NOT NULL AND objects_removed_at IS NULL"),
        ),
    )


class ErasedEnrolments(Base):
    """Per course, the enrolments of learners since erased: numbers without the person.

    An erasure deletes the learner's enrolments; the course keeps that it had them (`enrolled`, counted in
    the popular-courses report with the live enrolments) and how many of them were completed
    (`completed`). Only totals per course are kept, and only for courses: nothing says who, or when.
    """

    __tablename__ = "erased_enrolments"

    course_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    enrolled: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    completed: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))

    __table_args__ = (CheckConstraint("completed >= 0 AND completed <= enrolled", name="completed_within_enrolled"),)
