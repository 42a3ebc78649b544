"""Queries of the notifications: the log of what each learner was told, and where they stand in the order.

The learner projection (where and in which language to reach them) is `academy_gateway_bot.learners.
LearnerRepository`. Repositories flush, never commit: the consumer's transaction is the boundary.
"""

from __future__ import annotations

from academy_runtime.locks import hold_named_lock
from academy_runtime.repository import Repository
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from academy_gateway_bot.models import Learner, NotificationLog, messaging


class NotificationRepository(Repository):
    """The notification log (`kind` names the fact told: `achievement:3`, `course_completed:7`,
    `points:9001`), the lock per fact, and the inbox of the notifications consumer."""

    async def hold_fact(self, user_id: int, kind: str) -> None:
        """Wait for, then hold until the transaction ends, the lock on telling `user_id` about `kind`.

        Two events with the same fact may be handled at the same moment: the second waits for the
        first's transaction, then finds it in the log.
        """
        await hold_named_lock(self.session, f"notify:{user_id}:{kind}")

    async def was_sent(self, user_id: int, kind: str) -> bool:
        """Whether the learner has been sent a message about this fact."""
        return await self._logged(user_id, kind, sent_only=True)

    async def was_handled(self, user_id: int, kind: str) -> bool:
        """Whether this fact's turn has passed, whatever came of it (sent, skipped because the learner
        turned notifications off, failed, blocked): what comes after it may be told now."""
        return await self._logged(user_id, kind, sent_only=False)

    async def _logged(self, user_id: int, kind: str, *, sent_only: bool) -> bool:
        query = select(NotificationLog.id).where(NotificationLog.user_id == user_id, NotificationLog.kind == kind)
        if sent_only:
            query = query.where(NotificationLog.status == "sent")
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
        message_id: int | None = None,
        error: str | None = None,
    ) -> None:
        """One line of the log (once per event and kind: a redelivery adds nothing)."""
        await self.session.execute(
            insert(NotificationLog)
            .values(
                user_id=learner.user_id,
                chat_id=learner.telegram_id,
                kind=kind,
                event_id=event_id,
                text=text,
                status=status,
                telegram_message_id=message_id,
                error=error,
            )
            .on_conflict_do_nothing()
        )
