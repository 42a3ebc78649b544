"""The learner projection: where and in which language to reach a learner."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.models import Learner


async def remember_learner(session: AsyncSession, *, user_id: int, telegram_id: int, locale: str) -> None:
    await session.execute(
        insert(Learner)
        .values(user_id=user_id, telegram_id=telegram_id, locale=locale)
        .on_conflict_do_update(index_elements=[Learner.user_id], set_={"telegram_id": telegram_id, "locale": locale})
    )


async def find_learner(session: AsyncSession, clients: ServiceClients, user_id: int) -> Learner:
    """The projection row, filled from the users service when its event has not arrived yet."""
    learner = (await session.execute(select(Learner).where(Learner.user_id == user_id))).scalar_one_or_none()
    if learner is not None:
        return learner
    data = await clients.users.get(f"/internal/users/{user_id}")
    await remember_learner(session, user_id=user_id, telegram_id=data["telegram_id"], locale=data["locale"])
    return (await session.execute(select(Learner).where(Learner.user_id == user_id))).scalar_one()
