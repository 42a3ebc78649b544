"""Queries of the notifications: the log of what each learner was told, and where they stand in the order.

The learner projection (where and in which language to reach them) is `academy_gateway_bot.learners.
LearnerRepository`. Repositories flush, never commit: the consumer's transaction is the boundary.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from academy_runtime.locks import hold_named_lock
from academy_runtime.repository import Repository
from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import aliased

from academy_gateway_bot.models import ErasedLearner, Learner, NotificationLog, messaging

# A fact that is told, or queued to be: not told again.
_TOLD = ("pending", "sent")


def _first_due(user_id: int, now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The row is the learner's first queued message (in `id` order: the order they were queued in), and it
    is due by `now` (a deferred first one holds the chat's later ones back)."""
    n = NotificationLog
    first = select(func.min(n.id)).where(n.user_id == user_id, n.status == "pending").scalar_subquery()
    return n.id == first, or_(n.not_before.is_(None), n.not_before <= now)


_ERASED = "learner erased"
"""The name of `not_handled_yet`'s look for the learner's tombstone: with a space, as no kind has one."""


@dataclass(frozen=True)
class Queued:
    """A queued notification about to be sent: `attempts` made before this one."""

    id: int
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    attempts: int
    created_at: datetime


class NotificationRepository(Repository):
    """The notification log (`kind` names the fact told: `achievement:3`, `course_completed:7`,
    `points:9001`), the lock per fact, and the inbox of the notifications consumer."""

    async def hold_fact(self, user_id: int, kind: str) -> None:
        """Wait for, then hold until the transaction ends, the lock on telling `user_id` about `kind`.

        Two events with the same fact may be handled at the same moment: the second waits for the
        first's transaction, then finds it in the log.
        """
        await hold_named_lock(self.session, f"notify:{user_id}:{kind}")

    async def was_told(self, user_id: int, kind: str) -> bool:
        """Whether the learner has been told about this fact, or is about to be (queued): it is not told
        twice."""
        query = select(NotificationLog.id).where(
            NotificationLog.user_id == user_id, NotificationLog.kind == kind, NotificationLog.status.in_(_TOLD)
        )
        return (await self.session.execute(query.limit(1))).first() is not None

    async def not_handled_yet(
        self,
        user_id: int,
        kinds: Collection[str],
        *,
        follows_event_id: str | None,
        consumer: str,
        unless_erased: bool = False,
    ) -> list[str]:
        """Of the learner's facts `kinds` and the event `follows_event_id`, those whose turn has not passed
        yet, in one statement: `kind`, or `event <id>`; empty when there is nothing to wait for.

        A fact's turn has passed once it is in the log, whatever came of it (queued: the chat's queue sends
        in order; sent, skipped because the learner turned notifications off, failed, blocked). An event's
        once `consumer` has handled (committed) it: its id is in the inbox. `unless_erased`: empty too when
        the learner was erased (their tombstone is here): nothing of theirs will be told, so nothing waits."""
        inbox = messaging.inbox
        looks: list[tuple[str, Any]] = [
            (kind, select(NotificationLog.id).where(NotificationLog.user_id == user_id, NotificationLog.kind == kind))
            for kind in kinds
        ]
        if follows_event_id is not None:
            handled = select(inbox.c.event_id).where(inbox.c.event_id == follows_event_id, inbox.c.consumer == consumer)
            looks.append((f"event {follows_event_id}", handled))
        if not looks:
            return []
        if unless_erased:
            looks.append((_ERASED, select(ErasedLearner.user_id).where(ErasedLearner.user_id == user_id)))
        found = dict(
            zip(
                (name for name, _ in looks),
                (await self.session.execute(select(*(query.exists() for _, query in looks)))).one(),
                strict=True,
            )
        )
        if found.pop(_ERASED, False):
            return []
        return [name for name, exists in found.items() if not exists]

    async def record(
        self,
        learner: Learner,
        *,
        kind: str,
        event_id: str,
        text: str,
        status: str,
        reply_markup: dict[str, Any] | None = None,
    ) -> None:
        """One line of the log (once per event and kind: a redelivery adds nothing): `pending` to queue
        the message for its chat, `skipped` when it is not to be sent."""
        await self.session.execute(
            insert(NotificationLog)
            .values(
                user_id=learner.user_id,
                chat_id=learner.telegram_id,
                kind=kind,
                event_id=event_id,
                text=text,
                reply_markup=reply_markup,
                status=status,
            )
            .on_conflict_do_nothing()
        )

    # -- the queue (notifications.delivery) ------------------------------------------------------------

    async def due_chats(self, now: datetime, *, limit: int, excluding: Collection[int] = ()) -> list[tuple[int, int]]:
        """Up to `limit` learners (user id, chat id) whose chat's first queued message is due by `now`, the
        longest waiting first; `excluding`: learners whose chat this process is sending to already."""
        n, earlier = NotificationLog, aliased(NotificationLog)
        first_of_chat = (
            ~select(earlier.id)
            .where(earlier.user_id == n.user_id, earlier.status == "pending", earlier.id < n.id)
            .exists()
        )
        query = (
            select(n.user_id, n.chat_id)
            .where(n.status == "pending", or_(n.not_before.is_(None), n.not_before <= now), first_of_chat)
            .order_by(n.id)
            .limit(limit)
        )
        if excluding:
            query = query.where(n.user_id.not_in(list(excluding)))
        return [(user_id, chat_id) for user_id, chat_id in (await self.session.execute(query)).all()]

    async def lock_next(self, user_id: int, now: datetime) -> Queued | None:
        """The learner's first queued message, locked until the transaction ends, when it is due by `now`;
        None when there is none, it is deferred (`not_before`), or another sender holds it (SKIP LOCKED:
        that one is sending the chat's queue, in order)."""
        n = NotificationLog
        query = (
            select(n.id, n.chat_id, n.text, n.reply_markup, n.attempts, n.created_at)
            .where(*_first_due(user_id, now), n.status == "pending")
            .with_for_update(skip_locked=True)
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else Queued(*row)

    async def lock_following(self, user_id: int, first: Queued, now: datetime, *, limit: int) -> list[Queued]:
        """The learner's queued messages after `first` (locked by this transaction: `lock_next`), in the order
        they were queued, up to `limit`, locked until the transaction ends; it stops before the first one not
        due by `now`. SKIP LOCKED skips nothing in practice: a queued row is locked only by a sender of its
        chat, and that sender would hold `first` too."""
        n = NotificationLog
        query = (
            select(n.id, n.chat_id, n.text, n.reply_markup, n.attempts, n.created_at, n.not_before)
            .where(n.user_id == user_id, n.status == "pending", n.id > first.id)
            .order_by(n.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        following: list[Queued] = []
        for *columns, not_before in (await self.session.execute(query)).all():
            if not_before is not None and not_before > now:
                break
            following.append(Queued(*columns))
        return following

    async def has_due(self, user_id: int, now: datetime) -> bool:
        """Whether the learner's chat has a queued message due by `now` (its first one; a deferred first
        one holds the rest back)."""
        query = select(NotificationLog.id).where(*_first_due(user_id, now))
        return (await self.session.execute(query)).first() is not None

    async def mark(
        self,
        notification_id: int,
        *,
        status: str,
        attempts: int,
        message_id: int | None = None,
        error: str | None = None,
        sent_at: datetime | None = None,
    ) -> None:
        """The outcome of a queued message's send (only a row still `pending` changes)."""
        await self.session.execute(
            update(NotificationLog)
            .where(NotificationLog.id == notification_id, NotificationLog.status == "pending")
            .values(status=status, attempts=attempts, telegram_message_id=message_id, error=error, sent_at=sent_at)
        )

    async def mark_sent(self, notification_ids: Collection[int], message_id: int, *, sent_at: datetime) -> None:
        """Queued messages sent, together, as the Bot API message `message_id` (an attempt more each)."""
        await self.session.execute(
            update(NotificationLog)
            .where(NotificationLog.id.in_(notification_ids), NotificationLog.status == "pending")
            .values(
                status="sent",
                attempts=NotificationLog.attempts + 1,
                telegram_message_id=message_id,
                error=None,
                sent_at=sent_at,
            )
        )

    async def defer(self, notification_id: int, *, attempts: int, not_before: datetime) -> None:
        """A send Telegram did not take (a 429, a network error): tried again from `not_before` on."""
        await self.session.execute(
            update(NotificationLog)
            .where(NotificationLog.id == notification_id, NotificationLog.status == "pending")
            .values(attempts=attempts, not_before=not_before)
        )
