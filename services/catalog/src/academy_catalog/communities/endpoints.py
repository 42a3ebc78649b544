"""Community chats: the learner lookup (cached) and the operator commands."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.db import SessionDep
from academy_runtime.errors import error_responses
from academy_runtime.ids import IntegerId
from fastapi import APIRouter, Query, Request, Response, status
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from academy_catalog.audit import audited
from academy_catalog.cache import CacheDep, InvalidatesCache
from academy_catalog.communities import service
from academy_catalog.communities.schemas import (
    CategorySlug,
    CommunityOut,
    CreateCommunity,
    DeletedCommunity,
    EditCommunity,
)
from academy_catalog.dependencies import CatalogEditor, CatalogReader, IdempotencyKey
from academy_catalog.models import messaging

router = APIRouter(prefix="/internal/communities", tags=["communities"])

CommunityId = IntegerId
_COMMUNITY_LIST = TypeAdapter(list[CommunityOut])


@router.get("", response_model=list[CommunityOut])
async def list_communities(
    cache: CacheDep,
    _: CatalogReader,
    # No NUL (U+0000): the runtime refuses it in any request with a 422, and the schema says so.
    city: Annotated[
        str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]*$", description="Any letter case.")
    ] = None,
    # A list, not `list | None`: a query string has no null, and with one in the schema a value such as
    # `category=false` (a boolean to the schema, the slug "false" to the validation) looked invalid.
    category: Annotated[
        list[CategorySlug], Query(max_length=20, description="Repeatable; unknown slugs match nothing.")
    ] = [],  # noqa: B006 - FastAPI copies a parameter's default per request
) -> Response:
    """City chats of `city` first, then profession chats of the categories; neither filter: every chat."""
    city_key = city.strip().lower() if city else None
    categories = sorted(set(category)) if category else None

    async def load(session: AsyncSession) -> bytes:
        return _COMMUNITY_LIST.dump_json(await service.communities_for(session, city=city_key, categories=categories))

    # "*" stands for "no filter", so a city is keyed with a prefix: the city "*" (or "*" with categories)
    # must not share the cached answer of every chat.
    city_part = "*" if city_key is None else f"city={city_key}"
    return cache.response(await cache.get_or_load("communities", (city_part, ",".join(categories or ["*"])), load))


@router.post("", response_model=CommunityOut, status_code=status.HTTP_201_CREATED)
async def create_community(
    command: CreateCommunity,
    session: SessionDep,
    editor: CatalogEditor,
    __: InvalidatesCache,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> CommunityOut:
    """Operators: add a community chat."""
    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        payload=command.model_dump(mode="json"),
        response_model=CommunityOut,
        action=lambda: audited(
            session,
            editor,
            "community_created",
            command.model_dump(mode="json"),
            service.create_community(session, command),
        ),
    )


@router.patch("/{community_id}", responses=error_responses(404), response_model=CommunityOut)
async def edit_community(  # noqa: PLR0917 - FastAPI dependencies
    community_id: CommunityId,
    command: EditCommunity,
    session: SessionDep,
    editor: CatalogEditor,
    __: InvalidatesCache,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> CommunityOut:
    """Operators: change a community chat (the result must still be a consistent city or profession chat)."""
    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        payload={"community_id": community_id, **command.model_dump(mode="json", exclude_unset=True)},
        response_model=CommunityOut,
        action=lambda: audited(
            session,
            editor,
            "community_edited",
            {"community_id": community_id, **command.model_dump(mode="json", exclude_unset=True)},
            service.edit_community(session, community_id, command),
        ),
    )


@router.delete("/{community_id}", responses=error_responses(404), response_model=DeletedCommunity)
async def delete_community(
    community_id: CommunityId,
    session: SessionDep,
    editor: CatalogEditor,
    __: InvalidatesCache,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> DeletedCommunity:
    """Operators: remove a community chat."""
    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        payload={"community_id": community_id},
        response_model=DeletedCommunity,
        action=lambda: audited(
            session,
            editor,
            "community_deleted",
            {"community_id": community_id},
            service.delete_community(session, community_id),
        ),
    )
