from __future__ import annotations

from academy_runtime.db import SessionDep
from academy_runtime.errors import error_responses
from fastapi import APIRouter, Request, Response, status
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from academy_catalog.audit import audited
from academy_catalog.cache import CacheDep, InvalidatesCache, process_cache
from academy_catalog.categories import service
from academy_catalog.categories.schemas import CategoryOut, CreateCategory
from academy_catalog.dependencies import CatalogEditor, CatalogReader, IdempotencyKey
from academy_catalog.models import messaging

router = APIRouter(prefix="/internal/categories", tags=["categories"])

_CATEGORY_LIST = TypeAdapter(list[CategoryOut])


@router.get("", response_model=list[CategoryOut])
async def list_categories(cache: CacheDep, _: CatalogReader) -> Response:
    """The course categories, in display order."""

    async def load(session: AsyncSession) -> bytes:
        return _CATEGORY_LIST.dump_json(await service.list_categories(session))

    return cache.response(await cache.get_or_load("categories", (), load))


def list_categories_from_memory(request: Request) -> Response | None:
    """`list_categories`' answer when the process holds it in memory (`academy_runtime.fast_answers`)."""
    return process_cache(request.app.state.resources).response_from_memory("categories", ())


@router.post("", responses=error_responses(409), response_model=CategoryOut, status_code=status.HTTP_201_CREATED)
async def create_category(
    command: CreateCategory,
    session: SessionDep,
    editor: CatalogEditor,
    __: InvalidatesCache,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> CategoryOut:
    """Operators: add a category; an existing slug is 409."""
    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        payload=command.model_dump(mode="json"),
        response_model=CategoryOut,
        action=lambda: audited(
            session,
            editor,
            "category_created",
            command.model_dump(mode="json"),
            service.create_category(session, command),
        ),
    )
