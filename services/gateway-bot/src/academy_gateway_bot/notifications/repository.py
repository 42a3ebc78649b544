"""Queries of the notifications: the log of what each learner was told, and where they stand in the order.

The learner projection (where and in which language to reach them) is `academy_gateway_bot.learners.
LearnerRepository`. Repositories flush, never commit: the consumer's transaction is the boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from academy_runtime.locks import hold_named_lock
from academy_runtime.repository import Repository
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import aliased

from academy_gateway_bot.models import NOTIFICATION_OUTGOING, Learner, NotificationLog, messaging

# A fact that is told, or on its way to being told (`unknown`: it may have been): not told again.
_TOLD = ("pending", "sending", "sent", "unknown")


@dataclass(frozen=True)
class Claimed:
    """A queued notification claimed for sending: `attempts` counts this one."""

    id: int
    user_id: int
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
        """Whether the learner has been told about this fact, or is about to be (queued, being sent, or
        of unknown outcome): it is not told twice."""
        return await self._logged(user_id, kind, statuses=_TOLD)

    async def was_handled(self, user_id: int, kind: str) -> bool:
        """Whether this fact's turn has passed, whatever came of it (queued: the chat's queue sends in
        order; sent, skipped because the learner turned notifications off, failed, blocked): what comes
        after it may be queued now."""
        return await self._logged(user_id, kind, statuses=None)

    async def _logged(self, user_id: int, kind: str, *, statuses: tuple[str, ...] | None) -> bool:
        query = select(NotificationLog.id).where(NotificationLog.user_id == user_id, NotificationLog.kind == kind)
        if statuses is not None:
            query = query.where(NotificationLog.status.in_(statuses))
        return (await self.session.execute(query.limit(1))).first() is not None

    async def event_handled(self, event_id: str, consumer: str) -> bool:
        """Whether `consumer` has handled (committed) the event `event_id`: its id is in the inbox."""
        inbox = messaging.inbox
        found = await self.session.execute(
            select(inbox.c.event_id).where(inbox.c.event_id == event_id, inbox.c.consumer == consumer).limit(1)
        )
        return found.first() is not None

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

    async def claim(self, limit: int, now: datetime) -> list[Claimed]:
        """Claim up to `limit` queued messages due by `now`, each the first of its chat still on its way
        (nothing earlier of that learner `pending` or `sending`), skipping rows other workers have locked:
        each becomes `sending` with `claimed_at` and one more attempt. The caller commits the claim before
        it calls the Bot API. One message per chat at a time, in `id` order: the order they were queued in."""
        n, earlier = NotificationLog, aliased(NotificationLog)
        first_of_chat = ~(
            select(earlier.id)
            .where(earlier.user_id == n.user_id, earlier.status.in_(NOTIFICATION_OUTGOING), earlier.id < n.id)
            .exists()
        )
        picked = (
            select(n.id)
            .where(n.status == "pending", or_(n.not_before.is_(None), n.not_before <= now), first_of_chat)
            .order_by(n.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("picked")
        )
        stmt = (
            update(n)
            .where(n.id == picked.c.id)
            .values(status="sending", claimed_at=now, attempts=n.attempts + 1)
            .returning(n.id, n.user_id, n.chat_id, n.text, n.reply_markup, n.attempts, n.created_at)
        )
        rows = (await self.session.execute(stmt)).all()
        return [Claimed(*row) for row in sorted(rows)]

    async def still_claimed(self, notification_id: int) -> bool:
        """Lock the claimed row until the transaction ends and say whether it is still `sending` (the
        learner's erasure deletes it; a worker that found its claim stale made it `unknown`)."""
        found = await self.session.execute(
            select(NotificationLog.id)
            .where(NotificationLog.id == notification_id, NotificationLog.status == "sending")
            .with_for_update()
        )
        return found.first() is not None

    async def mark(
        self,
        notification_id: int,
        *,
        status: str,
        message_id: int | None = None,
        error: str | None = None,
        sent_at: datetime | None = None,
    ) -> None:
        """The outcome of a claimed message's send (only a row still `sending` changes)."""
        await self.session.execute(
            update(NotificationLog)
            .where(NotificationLog.id == notification_id, NotificationLog.status == "sending")
            .values(status=status, telegram_message_id=message_id, error=error, sent_at=sent_at)
        )

    async def release(self, notification_id: int, *, not_before: datetime | None, undo_attempt: bool) -> None:
        """A claimed message not sent after all (a stop, Telegram's 429, a network error): `pending` again,
        from `not_before` on; `undo_attempt` when no Bot API call was made."""
        n = NotificationLog
        await self.session.execute(
            update(n)
            .where(n.id == notification_id, n.status == "sending")
            .values(
                status="pending",
                not_before=not_before,
                claimed_at=None,
                attempts=n.attempts - 1 if undo_attempt else n.attempts,
            )
        )

    async def give_up_stale_claims(self, claimed_before: datetime) -> int:
        """Rows left `sending` by a worker that stopped (claimed before `claimed_before`): `unknown`. The
        message may or may not have gone, and sendMessage is not idempotent: they are not sent again, and
        the chat's next messages go on."""
        n = NotificationLog
        result = await self.session.execute(
            update(n)
            .where(n.status == "sending", n.claimed_at < claimed_before)
            .values(status="unknown", error="the sender stopped between the claim and the mark: not sent again")
        )
        return int(getattr(result, "rowcount", 0) or 0)
