"""The learner projection: where and in which language to reach a learner."""

from __future__ import annotations

from typing import Any

from academy_runtime.db import transaction
from academy_runtime.resources import Resources
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.context import LearnerCtx, forget_learner, remember_in_cache
from academy_gateway_bot.models import Learner


async def remember_learner(session: AsyncSession, *, user_id: int, telegram_id: int, locale: str) -> None:
    await session.execute(
        insert(Learner)
        .values(user_id=user_id, telegram_id=telegram_id, locale=locale)
        .on_conflict_do_update(index_elements=[Learner.user_id], set_={"telegram_id": telegram_id, "locale": locale})
    )


async def learner_changed(resources: Resources, learner: dict[str, Any]) -> LearnerCtx:
    """The users service has just registered or changed this learner (its LearnerOut): the projection
    follows at once (no waiting for the event) and the cached context is replaced."""
    ctx = LearnerCtx.from_users(learner)
    async with transaction(resources.sessionmaker) as session:
        await remember_learner(session, user_id=ctx.user_id, telegram_id=ctx.telegram_id, locale=ctx.locale)
    prefix = resources.settings.redis_prefix
    await forget_learner(resources.redis, prefix, ctx.telegram_id)
    await remember_in_cache(resources.redis, prefix, ctx)
    return ctx


async def find_learner(session: AsyncSession, clients: ServiceClients, user_id: int) -> Learner:
    """The projection row, filled from the users service when its event has not arrived yet."""
    learner = (await session.execute(select(Learner).where(Learner.user_id == user_id))).scalar_one_or_none()
    if learner is not None:
        return learner
    data = await clients.users.get(f"/internal/users/{user_id}")
    await remember_learner(session, user_id=user_id, telegram_id=data["telegram_id"], locale=data["locale"])
    return (await session.execute(select(Learner).where(Learner.user_id == user_id))).scalar_one()
