from __future__ import annotations

from collections.abc import Sequence

from academy_runtime.repository import Repository
from sqlalchemy import exists, func, select

from academy_catalog.models import Category


class CategoryRepository(Repository):
    async def list_all(self) -> Sequence[Category]:
        result = await self.session.execute(select(Category).order_by(Category.sort_order, Category.slug))
        return result.scalars().all()

    async def exists(self, slug: str) -> bool:
        return bool(await self.session.scalar(select(exists().where(Category.slug == slug))))

    async def existing(self, slugs: Sequence[str]) -> list[str]:
        """Those of `slugs` that are categories, in display order."""
        rows = await self.session.scalars(
            select(Category.slug).where(Category.slug.in_(slugs)).order_by(Category.sort_order, Category.slug)
        )
        return list(rows)

    async def last_sort_order(self) -> int:
        return int(await self.session.scalar(select(func.coalesce(func.max(Category.sort_order), 0))) or 0)
