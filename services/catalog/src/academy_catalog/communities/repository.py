from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from academy_catalog.models import Category, Community


class CommunityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, community_id: int, *, for_update: bool = False) -> Community | None:
        stmt = select(Community).where(Community.id == community_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_by_code(self, code: str, *, for_update: bool = False) -> Community | None:
        stmt = select(Community).where(Community.code == code)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def code_taken(self, code: str) -> bool:
        return bool(await self.session.scalar(select(exists().where(Community.code == code))))

    async def add(self, community: Community) -> Community:
        self.session.add(community)
        await self.session.flush()
        return community

    async def delete(self, community: Community) -> None:
        await self.session.delete(community)
        await self.session.flush()

    async def matching(self, *, city: str | None, categories: Sequence[str] | None) -> Sequence[Community]:
        """City chats of `city` (any letter case) first, then profession chats of `categories`.

        Without either filter: every chat, city chats first.
        """
        conditions = []
        if city is not None:
            # lower(city) is what ix_communities_city indexes.
            conditions.append((Community.type == "city") & (func.lower(Community.city) == city.lower()))
        if categories is not None:
            conditions.append((Community.type == "profession") & Community.category.in_(categories))
        stmt = select(Community).outerjoin(Category, Category.slug == Community.category)
        if conditions:
            where = conditions[0] if len(conditions) == 1 else conditions[0] | conditions[1]
            stmt = stmt.where(where)
        stmt = stmt.order_by(
            case((Community.type == "city", 0), else_=1),
            Community.city,
            Category.sort_order,
            Community.category,
            Community.title,
            Community.id,
        )
        return (await self.session.execute(stmt)).scalars().all()
