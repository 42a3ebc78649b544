from __future__ import annotations

from academy_runtime.auth import ServiceCaller
from academy_runtime.db import SessionDep
from fastapi import APIRouter

from academy_catalog.categories import service
from academy_catalog.categories.schemas import CategoryOut

router = APIRouter(prefix="/internal/categories", tags=["categories"])


@router.get("", response_model=list[CategoryOut])
async def list_categories(session: SessionDep, _: ServiceCaller) -> list[CategoryOut]:
    """The course categories, in display order."""
    categories: list[CategoryOut] = await service.list_categories(session)
    return categories
