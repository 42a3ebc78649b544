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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from academy_users.encryption import EncryptedText, idempotency_response_cipher, installed_key_ring


class Base(DeclarativeBase):
    metadata = service_metadata("users")


# Idempotency records name the learner their stored answer is about (`user/<id>`), so an erasure can
# delete them with the learner (academy_runtime.idempotency, subjects); the answers themselves (profiles)
# are stored encrypted like the learners' columns (academy_users.encryption.idempotency_response_cipher).
messaging = Messaging(
    Base.metadata, idempotency_subjects=True, idempotency_response_cipher=idempotency_response_cipher()
)

TIME_ZONE_SOURCES = ("learner", "city", "default")


class User(Base):
    """A learner. `points` of the seed table belongs to gamification and is not kept here.

    `full_name`, `phone` and `username` are stored encrypted (academy_users.encryption: the attributes are
    plain text, the columns hold `v1:<key id>:<ciphertext>`), so no query can compare them; a phone is
    found through `phone_lookup`, its keyed digest, which setting `phone` keeps up to date.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    username: Mapped[str | None] = mapped_column(EncryptedText("users.users.username"))
    # The seed makes full_name and phone NOT NULL; a learner who has not consented to personal-data
    # processing must have nothing stored beyond the Telegram id, so they fill in during registration.
    full_name: Mapped[str | None] = mapped_column(EncryptedText("users.users.full_name"))
    phone: Mapped[str | None] = mapped_column(EncryptedText("users.users.phone"))
    # HMAC-SHA256 of the phone under PHONE_LOOKUP_KEY (hex): support finds a learner by phone through it.
    phone_lookup: Mapped[str | None] = mapped_column(String(64))
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
        Index("ix_users_phone_lookup", "phone_lookup"),
        CheckConstraint(
            f"time_zone_source IN ({', '.join(repr(source) for source in TIME_ZONE_SOURCES)})",
            name="time_zone_source_known",
        ),
        CheckConstraint("revision > 0", name="revision_positive"),
    )

    @validates("phone")
    def _keep_phone_lookup(self, _key: str, phone: str | None) -> str | None:
        # Every ORM path that sets the phone sets its digest with it (a Core INSERT sets both by hand).
        self.phone_lookup = None if phone is None else installed_key_ring().phone_lookup(phone)
        return phone


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


AUDIT_REASON_CODES = ("learner_request", "consent_withdrawn", "operator_request", "reason_removed")
"""The fixed reasons: the gateway's `learner_request`, the erasure's grounds, and `reason_removed` (what the
migration `e8b2d4f6a0c3` wrote in place of earlier free-form reasons, which could hold a name or a phone)."""
AUDIT_REASON_PATTERN = rf"^([A-Z]{{2,10}}-[0-9]{{1,8}}|{'|'.join(AUDIT_REASON_CODES)})$"
"""Why an entry was made: an operator's ticket reference, a project key and a number (`SUP-1234`,
`ZD-5521`: 2..10 capital ASCII letters, `-`, 1..8 digits), or one of AUDIT_REASON_CODES. Nothing else:
no lowercase word, dot, space, `+` or letter outside ASCII, and at most 8 digits, so neither a name
(`Praskovya.Vtorova`) nor a phone (`tel:79161234598`, 11 digits) fits; the audit log holds no personal
value. The same regular expression in the API, the repository and the column's CHECK."""
AUDIT_REASON_MAX_LENGTH = 64


class AuditLog(Base):
    """Who did what to a learner's personal data, when and why (roadmap: audit of user actions; 152-ФЗ
    art. 19 §2 (5): accounting of access; issue 10).

    `actor`: `gateway-bot` (the learner, through the bot), `operator:<name>`, `users:<command>`.
    `action`: `registered`, `consented`, `profile_read`, `profile_updated`, `phone_lookup`, `exported`,
    `erased`, `audit_log_read`, `personal_data_reencrypted`, and the avatars' own. `reason`: see
    AUDIT_REASON_PATTERN (an operator's ticket, the gateway's fixed code). `details`: field names and ids,
    never values. `user_id` has no foreign key: the entries outlive an erased learner.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    action: Mapped[str] = mapped_column(String(100), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(AUDIT_REASON_MAX_LENGTH))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        # The query API pages newest first by id, filtered by learner or by actor.
        Index("ix_audit_log_user_id_id", "user_id", "id"),
        Index("ix_audit_log_actor_id", "actor", "id"),
        # The same rule as the API's, in the table: no code path can put a name or a phone in `reason`.
        CheckConstraint(f"reason ~ '{AUDIT_REASON_PATTERN}'", name="reason_is_a_reference"),
    )
