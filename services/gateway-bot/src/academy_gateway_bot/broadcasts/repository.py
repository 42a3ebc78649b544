"""Queries of the broadcasts: the broadcasts themselves, their recipients' rows and the claims on them.

Repositories flush, never commit; the delivery (`broadcasts.delivery`) opens a short transaction per claim
and per mark, so that a claim is committed before the Bot API call and a mark right after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from academy_runtime.repository import Repository
from sqlalchemy import Select, and_, case, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from academy_gateway_bot.broadcasts.schemas import Figures
from academy_gateway_bot.models import Broadcast, BroadcastRecipient, Learner

_OPEN = ("pending", "sending")


@dataclass(frozen=True)
class Claimed:
    """A recipient claimed for one send: where, in which language and time zone, the how-manieth attempt."""

    user_id: int
    chat_id: int
    locale: str
    time_zone: str | None
    attempts: int


class BroadcastRepository(Repository):
    """Broadcasts and their recipients."""

    async def get(self, broadcast_id: int, *, for_update: bool = False) -> Broadcast | None:
        return await self.one_or_none(select(Broadcast).where(Broadcast.id == broadcast_id), for_update=for_update)

    async def lock_for_resolution(self, broadcast_id: int) -> Broadcast | None:
        """The broadcast, locked until the transaction ends, unless another worker holds it (None then)."""
        stmt = select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update(skip_locked=True)
        result: Broadcast | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return result

    async def page(self, *, status: str | None, before_id: int | None, limit: int) -> Sequence[Broadcast]:
        """Broadcasts newest first, below `before_id`, of `status` if given."""
        stmt = select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(Broadcast.status == status)
        if before_id is not None:
            stmt = stmt.where(Broadcast.id < before_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def figures(self, broadcast_ids: Sequence[int]) -> dict[int, Figures]:
        """Each broadcast's recipients counted by status (one grouped query)."""
        stmt = (
            select(BroadcastRecipient.broadcast_id, BroadcastRecipient.status, func.count())
            .where(BroadcastRecipient.broadcast_id.in_(list(broadcast_ids)))
            .group_by(BroadcastRecipient.broadcast_id, BroadcastRecipient.status)
        )
        counts: dict[int, dict[str, int]] = {broadcast_id: {} for broadcast_id in broadcast_ids}
        for broadcast_id, status, count in (await self.session.execute(stmt)).all():
            counts[broadcast_id][status] = count
        return {
            broadcast_id: Figures(recipients=sum(by_status.values()), **by_status)
            for broadcast_id, by_status in counts.items()
        }

    async def due_broadcasts(self, now: datetime) -> Sequence[int]:
        """Scheduled broadcasts whose moment has come are now `sending`; the ids of every `sending` one,
        oldest first."""
        await self.session.execute(
            update(Broadcast)
            .where(Broadcast.status == "scheduled", Broadcast.scheduled_at <= now)
            .values(status="sending", started_at=func.coalesce(Broadcast.started_at, now))
        )
        stmt = select(Broadcast.id).where(Broadcast.status == "sending").order_by(Broadcast.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def status(self, broadcast_id: int) -> str | None:
        stmt = select(Broadcast.status).where(Broadcast.id == broadcast_id)
        result: str | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return result

    async def add_recipients(self, broadcast_id: int, user_ids: Sequence[int] | None) -> int:
        """List the learners `user_ids` (None: every learner the gateway knows) as the broadcast's recipients,
        as the `learners` projection has them now: `blocked` (they blocked the bot), `skipped` (they turned
        announcements off) or `pending`. A learner already listed is left as is (the primary key), so
        resolving twice lists nobody twice. A user id the gateway has no chat for is not listed. Returns
        how many rows were added."""
        learner = Learner
        initial = case(
            (learner.blocked_at.is_not(None), literal("blocked")),
            (learner.announcements_enabled.is_(False), literal("skipped")),
            else_=literal("pending"),
        )
        source: Select[tuple[int, int, int, str, str | None, str]] = select(
            literal(broadcast_id), learner.user_id, learner.telegram_id, learner.locale, learner.time_zone, initial
        )
        if user_ids is not None:
            source = source.where(learner.user_id.in_(list(user_ids)))
        stmt = (
            insert(BroadcastRecipient)
            .from_select(["broadcast_id", "user_id", "chat_id", "locale", "time_zone", "status"], source)
            .on_conflict_do_nothing()
        )
        result = await self.session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)

    async def count_by_status(self, broadcast_id: int, statuses: Sequence[str]) -> int:
        stmt = select(func.count()).where(
            BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.status.in_(list(statuses))
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def pending_total(self) -> int:
        """Recipients still to be sent, of every broadcast that is sending or paused (the gauge)."""
        stmt = (
            select(func.count())
            .select_from(BroadcastRecipient)
            .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
            .where(Broadcast.status.in_(("sending", "paused", "scheduled")), BroadcastRecipient.status == "pending")
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def claim(self, broadcast_id: int, limit: int, now: datetime) -> list[Claimed]:
        """Claim up to `limit` pending recipients due by `now` (not deferred), skipping rows other workers
        have locked: each becomes `sending` with `claimed_at` and one more attempt. The caller commits the
        claim before it calls the Bot API."""
        r = BroadcastRecipient
        picked = (
            select(r.broadcast_id, r.user_id)
            .where(
                r.broadcast_id == broadcast_id, r.status == "pending", or_(r.not_before.is_(None), r.not_before <= now)
            )
            .order_by(r.user_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("picked")
        )
        stmt = (
            update(r)
            .where(and_(r.broadcast_id == picked.c.broadcast_id, r.user_id == picked.c.user_id))
            .values(status="sending", claimed_at=now, attempts=r.attempts + 1)
            .returning(r.user_id, r.chat_id, r.locale, r.time_zone, r.attempts)
        )
        rows = (await self.session.execute(stmt)).all()
        return [Claimed(*row) for row in sorted(rows)]

    async def mark(
        self,
        broadcast_id: int,
        user_id: int,
        *,
        status: str,
        message_id: int | None = None,
        error: str | None = None,
        sent_at: datetime | None = None,
    ) -> None:
        """The outcome of a claimed recipient's send (only a row still `sending` changes)."""
        r = BroadcastRecipient
        await self.session.execute(
            update(r)
            .where(r.broadcast_id == broadcast_id, r.user_id == user_id, r.status == "sending")
            .values(status=status, telegram_message_id=message_id, error=error, sent_at=sent_at)
        )

    async def release(
        self, broadcast_id: int, user_id: int, *, not_before: datetime | None, undo_attempt: bool
    ) -> None:
        """A claimed recipient not sent after all (paused, cancelled, quiet hours, Telegram's 429): pending
        again, from `not_before` on; `undo_attempt` when no Bot API call was made."""
        r = BroadcastRecipient
        attempts = r.attempts - 1 if undo_attempt else r.attempts
        await self.session.execute(
            update(r)
            .where(r.broadcast_id == broadcast_id, r.user_id == user_id, r.status == "sending")
            .values(status="pending", not_before=not_before, claimed_at=None, attempts=attempts)
        )

    async def give_up_stale_claims(self, broadcast_id: int, claimed_before: datetime) -> int:
        """Rows left `sending` by a worker that stopped (claimed before `claimed_before`): `unknown`. The
        message may or may not have gone, and sendMessage is not idempotent: they are not sent again."""
        r = BroadcastRecipient
        result = await self.session.execute(
            update(r)
            .where(r.broadcast_id == broadcast_id, r.status == "sending", r.claimed_at < claimed_before)
            .values(status="unknown", error="the sender stopped between the claim and the mark: not sent again")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def skip_pending(self, broadcast_id: int) -> int:
        """A cancelled broadcast's recipients not sent yet: `skipped`."""
        r = BroadcastRecipient
        result = await self.session.execute(
            update(r)
            .where(r.broadcast_id == broadcast_id, r.status == "pending")
            .values(status="skipped", error="cancelled")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def finish_if_done(self, broadcast_id: int, now: datetime) -> bool:
        """A resolved, sending broadcast with nobody pending or in flight is `finished`."""
        if await self.count_by_status(broadcast_id, _OPEN):
            return False
        result = await self.session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status == "sending", Broadcast.resolved_at.is_not(None))
            .values(status="finished", finished_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def mark_learner_blocked(self, user_id: int, now: datetime) -> None:
        await self.session.execute(
            update(Learner).where(Learner.user_id == user_id, Learner.blocked_at.is_(None)).values(blocked_at=now)
        )
