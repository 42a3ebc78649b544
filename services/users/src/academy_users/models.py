"""Tables of the users schema: learners (seed table `users`), their avatars and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from academy_runtime.db import service_metadata
from academy_runtime.messaging import Messaging
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = service_metadata("users")


messaging = Messaging(Base.metadata)

TIME_ZONE_SOURCES = ("learner", "city", "default")


class User(Base):
    """A learner. `points` of the seed table belongs to gamification and is not kept here."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    username: Mapped[str | None] = mapped_column(String(255))
    # The seed makes full_name and phone NOT NULL; a learner who has not consented to personal-data
    # processing must have nothing stored beyond the Telegram id, so they fill in during registration.
    full_name: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(8), nullable=False, server_default=text("'ru'"))
    consent_personal_data: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consent_version: Mapped[str | None] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    # The learner's IANA zone, always set: chosen by them (`learner`), derived from the city through the
    # gazetteer (`city`), or the configured default when neither is known (`default`: the bot asks).
    # (An account made without a city, as before consent was asked, starts on Europe/Moscow, `default`.)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False, server_default=text("'Europe/Moscow'"))
    time_zone_source: Mapped[str] = mapped_column(String(16), nullable=False, server_default=text("'default'"))
    # 1 at creation, one more with every UPDATE (SQLAlchemy's version counter, so no change can forget
    # it); events carry it so that other services never let an older fact overwrite a newer one.
    revision: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012 - SQLAlchemy's declarative hook
    __table_args__ = (
        Index("ix_users_city", "city"),
        CheckConstraint(
            f"time_zone_source IN ({', '.join(repr(source) for source in TIME_ZONE_SOURCES)})",
            name="time_zone_source_known",
        ),
        CheckConstraint("revision > 0", name="revision_positive"),
    )


class UserAvatar(Base):
    """Avatar history (the roadmap's UserAvatar): the images live in S3, one row per upload.

    Three objects per row (academy_users.avatars.service.avatar_keys): the original as uploaded and the
    processed large and small WEBP. `object_key`, `content_type`, `size_bytes`, `width` and `height`
    describe the large image (what `users.avatar_updated.v1` announces); `original_*` the upload.
    """

    __tablename__ = "user_avatars"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.users.id", ondelete="CASCADE"), nullable=False)
    object_key: Mapped[str] = mapped_column(Text, nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    # The upload as the learner sent it: its real type (checked against the bytes) and its size.
    original_content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    original_size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    is_current: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        Index("ix_user_avatars_user_id_created_at", "user_id", "created_at"),
        # At most one current avatar per learner.
        Index("uq_user_avatars_current", "user_id", unique=True, postgresql_where=text("is_current")),
    )


class AuditLog(Base):
    """Who did what to a learner's account (roadmap: audit of user actions)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    action: Mapped[str] = mapped_column(String(100), nullable=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
