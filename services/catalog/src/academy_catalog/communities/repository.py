from __future__ import annotations

from collections.abc import Sequence

from academy_runtime.repository import Repository
from sqlalchemy import case, exists, func, select

from academy_catalog.models import Category, Community


class CommunityRepository(Repository):
    async def get(self, community_id: int, *, for_update: bool = False) -> Community | None:
        return await self.one_or_none(select(Community).where(Community.id == community_id), for_update=for_update)

    async def get_by_code(self, code: str, *, for_update: bool = False) -> Community | None:
        return await self.one_or_none(select(Community).where(Community.code == code), for_update=for_update)

    async def code_taken(self, code: str) -> bool:
        return bool(await self.session.scalar(select(exists().where(Community.code == code))))

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
