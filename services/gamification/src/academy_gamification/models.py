"""Tables of the gamification schema: the points ledger, levels, achievements, streaks, projections.

The seed keeps `points` on the users table; here it is a ledger (one row per award, unique award
key, so an award happens once whatever the delivery) and a per-learner summary derived from it.
"""

from __future__ import annotations

from datetime import date, datetime

from academy_contracts.users import DISPLAY_NAME_MAX_LENGTH
from academy_runtime.db import service_metadata
from academy_runtime.messaging import Messaging
from academy_runtime.tombstones import ErasedLearnerColumns
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = service_metadata("gamification")


messaging = Messaging(Base.metadata)

CONDITION_TYPES = ("courses_completed", "category_courses_completed", "lessons_completed", "streak_days")


class PointsLedgerEntry(Base):
    """One award of points. Rows of an erased learner stay, detached from them, so the platform's totals
    (the sum of `points`) do not change: `user_id` null, `award_key` `erased:<id>`, no `source_event_id`,
    `created_at` cut to its UTC day (see `learners.service.erase_learner`)."""

    __tablename__ = "points_ledger"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # Null once the learner was erased: the row belongs to nobody, so no per-learner sum counts it.
    user_id: Mapped[int | None] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(String(50), nullable=False)
    # What the award is for ("welcome:42", "lesson:42:7"): unique, so it is granted exactly once.
    award_key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    # Course category of a lesson or course award: the category leaderboards are derived from it.
    category: Mapped[str | None] = mapped_column(String(100))
    source_event_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint("points <> 0", name="points_nonzero"),
        Index("ix_points_ledger_user_id_created_at", "user_id", "created_at"),
    )


class LearnerScore(Base):
    """Per-learner totals derived from the ledger and the projections; leaderboards are built from it."""

    __tablename__ = "learner_scores"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    total_points: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    level: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    lessons_completed: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    courses_completed: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    # Id of the last points_awarded.v2 / achievement_unlocked.v2 published about the learner: the next one
    # names it in `follows_event_id`, so consumers can tell them in the order they happened.
    last_event_id: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (Index("ix_learner_scores_total_points", "total_points"),)


class LearnerCategoryScore(Base):
    """Points a learner earned from lessons and courses of one category, derived from the ledger."""

    __tablename__ = "learner_category_scores"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    category: Mapped[str] = mapped_column(String(100), primary_key=True)
    points: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))

    __table_args__ = (Index("ix_learner_category_scores_category_points", "category", "points"),)


class LearnerProfile(Base):
    """Projection of the users service's profile: what leaderboards show (name) and group by (city).

    Only the display name («Анна П.», derived by the users service and carried by its v3 events) is kept,
    never the full name; the learner may choose to appear anonymously (`leaderboard_anonymous`), set
    through the gateway. Deleted when the learner is erased (`ErasedLearner` remembers the id).

    `profile_revision` is the users service's revision of the values held and `profile_at` the
    timestamp of the event they come from: an older fact never overwrites a newer one, so a profile
    update that overtakes the registration is kept (see `learners.service.supersedes`).
    """

    __tablename__ = "learner_profiles"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX_LENGTH))
    leaderboard_anonymous: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    city: Mapped[str | None] = mapped_column(String(100))
    # The city as leaderboards compare it ("  москва " and "Москва" are one board).
    city_key: Mapped[str | None] = mapped_column(String(100))
    profile_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # Null when the values came from a users.profile_updated.v1 (which carries no revision) or predate it.
    profile_revision: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_learner_profiles_city_key", "city_key"),
        CheckConstraint("profile_revision IS NULL OR profile_revision > 0", name="profile_revision_positive"),
    )


class ErasedLearner(ErasedLearnerColumns, Base):
    """A learner whose data was erased (`users.user_erased`): the id alone, nothing else about them.

    Every write keyed by a learner checks it under the learner's lock, so a fact delivered after the
    erasure (a lesson completed just before it, a redelivered registration) stores nothing again. The
    users service never gives the id to anyone else: a person who registers again is a new user id.
    """

    __tablename__ = "erased_learners"


class Level(Base):
    __tablename__ = "levels"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    min_points: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    title_ru: Mapped[str] = mapped_column(String(100), nullable=False)
    title_en: Mapped[str] = mapped_column(String(100), nullable=False)


class Achievement(Base):
    """The rule table (seed `achievements`): unlocked when `condition_type` reaches `condition_value`."""

    __tablename__ = "achievements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    title_en: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, nullable=False)
    description_en: Mapped[str | None] = mapped_column(Text)
    icon_url: Mapped[str | None] = mapped_column(Text)
    points: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    condition_type: Mapped[str] = mapped_column(String(50), nullable=False)
    condition_value: Mapped[int] = mapped_column(Integer, nullable=False)
    category: Mapped[str | None] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint(
            "condition_type IN ('courses_completed', 'category_courses_completed', 'lessons_completed', 'streak_days')",
            name="condition_type_known",
        ),
        CheckConstraint("condition_value > 0", name="condition_value_positive"),
        CheckConstraint(
            "(condition_type = 'category_courses_completed') = (category IS NOT NULL)",
            name="category_iff_category_condition",
        ),
    )


class UserAchievement(Base):
    __tablename__ = "user_achievements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    achievement_id: Mapped[int] = mapped_column(
        ForeignKey("gamification.achievements.id", ondelete="CASCADE"), nullable=False
    )
    earned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (UniqueConstraint("user_id", "achievement_id"),)


class Streak(Base):
    """Daily learning streak, in the learner's calendar days."""

    __tablename__ = "streaks"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    current_days: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    longest_days: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    last_activity_date: Mapped[date | None] = mapped_column(Date)


class LessonCompletion(Base):
    """Projection of progress.lesson_completed: one row per (learner, lesson), order-independent."""

    __tablename__ = "lesson_completions"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    lesson_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    course_id: Mapped[int] = mapped_column(Integer, nullable=False)
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class CourseCompletion(Base):
    """Projection of progress.course_completed, with the category for category achievements."""

    __tablename__ = "course_completions"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    course_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    category: Mapped[str] = mapped_column(String(100), nullable=False)
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_course_completions_user_id_category", "user_id", "category"),)
