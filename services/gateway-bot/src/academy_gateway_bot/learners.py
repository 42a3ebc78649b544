"""The learner projection: where, in which language and in which time zone to reach a learner.

Fed by `users.user_registered.v2` / `users.profile_updated.v2` and by the users service's answers
(registration, a profile or language change). Facts arrive in any order, so a row changes only for a
higher users `revision` (`academy_runtime.projections.upsert_if_newer`): a registration delivered late
after a broker outage cannot bring back the language the learner has since changed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from academy_runtime.db import transaction
from academy_runtime.projections import upsert_if_newer
from academy_runtime.repository import Repository
from academy_runtime.resources import Resources
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gateway_bot.clients import Account, ServiceClients
from academy_gateway_bot.context import LearnerCtx, forget_learner, remember_in_cache
from academy_gateway_bot.models import Learner

log = logging.getLogger(__name__)


class LearnerRepository(Repository):
    """Queries of the `learners` projection; flushes, never commits (the caller's boundary does)."""

    async def remember(
        self, *, user_id: int, telegram_id: int, locale: str, time_zone: str | None, revision: int
    ) -> bool:
        """Store the learner as of users `revision`; False when the row already holds a newer one."""
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
    """The projection row, filled from the users service when its event has not arrived yet."""
    learners = LearnerRepository(session)
    learner = await learners.get(user_id)
    if learner is not None:
        return learner
    await _remember_account(learners, await clients.users.account(user_id))
    found = await learners.get(user_id)
    assert found is not None
    return found


async def mark_reachable(resources: Resources, telegram_id: int, *, reachable: bool) -> None:
    """Record that the learner with `telegram_id` can (or cannot) receive messages now."""
    async with transaction(resources.sessionmaker) as session:
        changed = await LearnerRepository(session).set_reachable(telegram_id, reachable=reachable)
    if changed:
        log.info("learner reachability changed", extra={"telegram_id": telegram_id, "reachable": reachable})
