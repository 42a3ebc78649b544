from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from academy_catalog.categories.repository import CategoryRepository
from academy_catalog.categories.schemas import CategoryOut


async def list_categories(session: AsyncSession) -> list[CategoryOut]:
    return [CategoryOut.model_validate(c) for c in await CategoryRepository(session).list_all()]
