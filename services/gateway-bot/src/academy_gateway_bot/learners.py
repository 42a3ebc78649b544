"""The learner projection: where, in which language and in which time zone to reach a learner.

Fed by `users.user_registered.v3` / `users.profile_updated.v3` and by the users service's answers
(registration, a profile or language change). Facts arrive in any order, so a row changes only for a
higher users `revision` (`academy_runtime.projections.upsert_if_newer`): a registration delivered late
after a broker outage cannot bring back the language the learner has since changed. An erased learner
(`erased_learners`, see `academy_gateway_bot.erasure`) is never written again: a registration of theirs
delivered after the erasure changes nothing. The row holds no name (the events' display name is not
needed to reach anyone).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from academy_runtime.db import transaction
from academy_runtime.locks import hold_named_lock
from academy_runtime.projections import upsert_if_newer
from academy_runtime.repository import Repository
from academy_runtime.resources import Resources
from academy_runtime.tombstones import TombstoneRepository
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gateway_bot.clients import Account, ServiceClients
from academy_gateway_bot.context import LearnerCtx, forget_learner, remember_in_cache
from academy_gateway_bot.models import BroadcastRecipient, ErasedLearner, Learner, NotificationLog, UserState

log = logging.getLogger(__name__)


class LearnerErasedError(Exception):
    """The learner was erased: there is no one to tell anything (a notification of theirs is dropped)."""


class ErasedLearnerRepository(TombstoneRepository):
    """The tombstones of erased learners (`erased_learners`: the user id and `erased_at`)."""

    model = ErasedLearner


class LearnerRepository(Repository):
    """Queries of the `learners` projection; flushes, never commits (the caller's boundary does)."""

    async def remember(
        self, *, user_id: int, telegram_id: int, locale: str, time_zone: str | None, revision: int
    ) -> bool:
        """Store the learner as of users `revision`; False when the row already holds a newer one, or
        the learner was erased.

        A row of another user id with the same Telegram id is an earlier account of the same person,
        erased (users keeps one live account per Telegram id) before its erasure event got here: the
        chat is the new account's now, so that row goes."""
        await self._hold(user_id)
        if await self.is_erased(user_id):
            return False
        await self.session.execute(
            delete(Learner).where(Learner.telegram_id == telegram_id, Learner.user_id != user_id)
        )
        values = {
            "user_id": user_id,
            "telegram_id": telegram_id,
            "locale": locale,
            "time_zone": time_zone,
            "revision": revision,
        }
        return await upsert_if_newer(self.session, Learner, values, key=["user_id"], version="revision")

    async def get(self, user_id: int) -> Learner | None:
        return await self.one_or_none(select(Learner).where(Learner.user_id == user_id))

    async def is_erased(self, user_id: int) -> bool:
        """Whether the learner `user_id` was erased (their tombstone is here)."""
        return await ErasedLearnerRepository(self.session).is_erased(user_id)

    async def erase(self, user_id: int, *, erased_at: datetime, telegram_id: int | None = None) -> int | None:
        """Delete what the gateway's tables hold of the learner — the `learners` row, the `user_states`
        row, the `notification_log` (it keeps the texts sent to them), their `broadcast_recipients` rows —
        and leave the tombstone. Returns the Telegram id the row named (else `telegram_id`, the caller's own
        knowledge), None when neither knows it. Idempotent: a second call finds nothing and keeps the first
        tombstone."""
        await self._hold(user_id)
        row = await self.get(user_id)
        known = row.telegram_id if row is not None else telegram_id
        await self.session.execute(delete(Learner).where(Learner.user_id == user_id))
        states = [UserState.user_id == user_id]
        if known is not None:
            states.append(UserState.telegram_id == known)
        await self.session.execute(delete(UserState).where(or_(*states)))
        await self.session.execute(delete(NotificationLog).where(NotificationLog.user_id == user_id))
        # A broadcast's row names their chat: it goes too (the broadcast's figures lose one recipient).
        await self.session.execute(delete(BroadcastRecipient).where(BroadcastRecipient.user_id == user_id))
        await ErasedLearnerRepository(self.session).remember(user_id, erased_at=erased_at)
        return known

    async def hold_for_delivery(self, user_id: int) -> bool:
        """Hold, until the transaction ends, the learner's lock in shared mode — deliveries to one learner
        run side by side, an erasure (`erase`, exclusive) waits for them and then deletes what they logged —
        and say whether the learner is still there (False: erased meanwhile; tell them nothing).

        Without it, a notification that found the learner before an erasure committed could log its
        text after the erasure had deleted the log: a copy of what they were told outliving them.
        """
        await self.hold_against_erasure(user_id)
        return not await self.is_erased(user_id)

    async def hold_against_erasure(self, user_id: int) -> None:
        """The learner's lock in shared mode until the transaction ends, without looking: for a sender of a
        row the erasure would delete (the row still there says the learner is)."""
        await hold_named_lock(self.session, f"gateway-bot:learner:{user_id}", shared=True)

    async def _hold(self, user_id: int) -> None:
        """One writer of a learner's row at a time: a registration and an erasure of the same id take
        turns, so the registration either sees the tombstone or is deleted by the erasure."""
        await hold_named_lock(self.session, f"gateway-bot:learner:{user_id}")

    async def mark_blocked(self, user_id: int) -> None:
        """Telegram answered 403 (the learner blocked the bot, or deleted their account)."""
        await self.session.execute(
            update(Learner).where(Learner.user_id == user_id).values(blocked_at=datetime.now(UTC))
        )

    async def set_reachable(self, telegram_id: int, *, reachable: bool) -> int:
        """The learner blocked (`reachable=False`) or unblocked/restarted the bot, as Telegram's
        `my_chat_member` update says; returns the number of rows changed (0: not registered, or already so)."""
        blocked_at = None if reachable else datetime.now(UTC)
        changed = Learner.blocked_at.is_not(None) if reachable else Learner.blocked_at.is_(None)
        result = await self.session.execute(
            update(Learner).where(Learner.telegram_id == telegram_id, changed).values(blocked_at=blocked_at)
        )
        return int(getattr(result, "rowcount", 0) or 0)


async def _remember_account(learners: LearnerRepository, account: Account) -> None:
    await learners.remember(
        user_id=account.id,
        telegram_id=account.telegram_id,
        locale=account.locale,
        time_zone=account.time_zone,
        revision=account.revision,
    )


async def learner_changed(resources: Resources, account: Account) -> LearnerCtx:
    """The users service has just registered or changed this learner: the projection follows at once
    (no waiting for the event) and the cached context is replaced."""
    ctx = LearnerCtx.from_account(account)
    async with transaction(resources.sessionmaker) as session:
        await _remember_account(LearnerRepository(session), account)
    prefix = resources.settings.redis_prefix
    await forget_learner(resources.redis, prefix, ctx.telegram_id)
    await remember_in_cache(resources.redis, prefix, ctx)
    return ctx


async def find_learner(session: AsyncSession, clients: ServiceClients, user_id: int) -> Learner:
    """The projection row, filled from the users service when its event has not arrived yet.
    Raises `LearnerErasedError` for an erased learner, `NotFoundError` when users knows no such id."""
    learners = LearnerRepository(session)
    learner = await learners.get(user_id)
    if learner is not None:
        return learner
    if await learners.is_erased(user_id):
        raise LearnerErasedError(user_id)
    await _remember_account(learners, await clients.users.account(user_id))
    found = await learners.get(user_id)
    if found is None:  # erased while users was asked
        raise LearnerErasedError(user_id)
    return found


async def mark_reachable(resources: Resources, telegram_id: int, *, reachable: bool) -> None:
    """Record that the learner with `telegram_id` can (or cannot) receive messages now."""
    async with transaction(resources.sessionmaker) as session:
        changed = await LearnerRepository(session).set_reachable(telegram_id, reachable=reachable)
    if changed:
        log.info("learner reachability changed", extra={"telegram_id": telegram_id, "reachable": reachable})
