from __future__ import annotations

from academy_runtime.errors import ConflictError
from sqlalchemy.ext.asyncio import AsyncSession

from academy_catalog.categories.repository import CategoryRepository
from academy_catalog.categories.schemas import CategoryOut, CreateCategory
from academy_catalog.models import Category


async def list_categories(session: AsyncSession) -> list[CategoryOut]:
    return [CategoryOut.model_validate(c) for c in await CategoryRepository(session).list_all()]


async def create_category(session: AsyncSession, command: CreateCategory) -> CategoryOut:
    repository = CategoryRepository(session)
    if await repository.exists(command.slug):
        raise ConflictError(f"category {command.slug!r} already exists")
    sort_order = command.sort_order if command.sort_order is not None else await repository.last_sort_order() + 1
    category = await repository.add(
        Category(slug=command.slug, title_ru=command.title_ru, title_en=command.title_en, sort_order=sort_order)
    )
    return CategoryOut.model_validate(category)
