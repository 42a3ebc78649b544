from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from academy_catalog.models import Category


class CategoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_all(self) -> Sequence[Category]:
        result = await self.session.execute(select(Category).order_by(Category.sort_order, Category.slug))
        return result.scalars().all()

    async def exists(self, slug: str) -> bool:
        return bool(await self.session.scalar(select(exists().where(Category.slug == slug))))
