"""Tables of the gateway_bot schema: learner projection, conversation state, notifications, broadcasts."""

from __future__ import annotations

from datetime import datetime
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
    String,
    Text,
    func,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = service_metadata("gateway_bot")


messaging = Messaging(Base.metadata)


class Learner(Base):
    """Projection of users.user_registered / profile_updated (v3): where and how to reach a learner.
    Holds no name: the bot reads names from the users service when it shows them."""

    __tablename__ = "learners"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    telegram_id: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    locale: Mapped[str] = mapped_column(String(8), nullable=False, server_default=sql_text("'ru'"))
    notifications_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=sql_text("true"))
    # Operators' broadcasts (announcements): the learner may turn them off in the bot (the button under an
    # announcement); notifications of their own facts do not depend on it.
    announcements_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=sql_text("true"))
    # IANA zone from the users service (None until it is known): scheduled messages keep to its daytime.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # The users revision this row reflects: an older fact (a late event) never overwrites a newer one.
    revision: Mapped[int | None] = mapped_column(BigInteger)
    # Set when Telegram answers 403 (the learner blocked the bot): no more sends until they return.
    blocked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )


class ErasedLearner(ErasedLearnerColumns, Base):
    """A learner the users service erased (`users.user_erased.v2`, or the bot's own erasure flow): a
    tombstone of the user id alone, no personal data. A registration or profile event of this id that
    arrives late (events come in any order) must not bring the `learners` row back; a new registration
    of the same person is a new user id (152-ФЗ art. 21 §5: the data is destroyed, not hidden)."""

    __tablename__ = "erased_learners"

    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class UserState(Base):
    """The roadmap's UserState: durable per-learner bot state (menu, language choice, last screen).

    The live conversation (aiogram FSM) is in Redis; what must survive a Redis loss is here.
    """

    __tablename__ = "user_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    state_data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=sql_text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )


NOTIFICATION_STATUSES = ("pending", "sent", "blocked", "failed", "skipped")


class NotificationLog(Base):
    """Every message told to a learner because of an event, and the queue it waits in for its chat.

    A notification consumer renders the message and writes it here `pending` in the event's transaction
    (`notifications.consumers.deliver`); the delivery job (`notifications.delivery`) sends each chat's rows
    one after another in `id` order, within Telegram's limits, each send and its mark in one transaction:
    `sent` (with `telegram_message_id`, `sent_at`; rows due together go out as one message and share it,
    `delivery.combined`), `blocked` (403), `failed` (refused, or out of
    `attempts`; `error`). `skipped`: the learner turned notifications off. `reply_markup` is the Bot API's
    InlineKeyboardMarkup object; `not_before` defers a row after a 429 or a network error.
    """

    __tablename__ = "notification_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    event_id: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, nullable=False)
    reply_markup: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=sql_text("0"))
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint(
            f"status IN ({', '.join(repr(s) for s in NOTIFICATION_STATUSES)})", name="notification_status_known"
        ),
        Index("ix_notification_log_user_id_created_at", "user_id", "created_at"),
        Index("uq_notification_log_event_kind", "event_id", "kind", unique=True),
        # The queue: each chat's rows still to be sent, in order.
        Index("ix_notification_log_pending", "user_id", "id", postgresql_where=sql_text("status = 'pending'")),
    )


BROADCAST_STATUSES = ("draft", "scheduled", "sending", "paused", "cancelled", "finished")
RECIPIENT_STATUSES = ("pending", "sending", "sent", "blocked", "failed", "skipped", "unknown")
SEGMENT_KINDS = ("everyone", "city", "category", "inactive", "course")


class Broadcast(Base):
    """A message an operator sends to a segment of learners (issue 12), paced by the notification sender.

    `text_ru` / `text_en` are Telegram HTML (`parse_mode=HTML`, only the tags Telegram allows); a learner
    whose locale is `en` gets `text_en`, or `text_ru` when there is none. `photo` is a URL or a Telegram
    `file_id` (the text is then its caption). `segment` is `{"kind": ..., "value": ...}` (SEGMENT_KINDS).
    The figures are counted from `broadcast_recipients`; `recipients_total` is set once the segment is
    resolved (`resolved_at`).
    """

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text_ru: Mapped[str] = mapped_column(Text, nullable=False)
    text_en: Mapped[str | None] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(Text)
    button_url: Mapped[str | None] = mapped_column(Text)
    button_text_ru: Mapped[str | None] = mapped_column(String(64))
    button_text_en: Mapped[str | None] = mapped_column(String(64))
    segment: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default=sql_text("'draft'"))
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    recipients_total: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in BROADCAST_STATUSES)})", name="broadcast_status_known"),
        Index("ix_broadcasts_status", "status"),
    )


class BroadcastRecipient(Base):
    """One learner of a broadcast: listed once (the primary key), claimed (`sending`, committed) before the
    Bot API call and marked after it. A row found in `sending` after its claim's lease is `unknown`: the
    message may or may not have gone (sendMessage is not idempotent), and it is not sent again.
    `not_before`: the learner's quiet hours (local night) defer it."""

    __tablename__ = "broadcast_recipients"

    broadcast_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    locale: Mapped[str] = mapped_column(String(8), nullable=False)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default=sql_text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=sql_text("0"))
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in RECIPIENT_STATUSES)})", name="recipient_status_known"),
        Index("ix_broadcast_recipients_broadcast_id_status", "broadcast_id", "status"),
    )
