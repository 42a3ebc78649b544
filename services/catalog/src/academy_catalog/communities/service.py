"""Community chats: managed by operators, looked up by learners for their city and their categories."""

from __future__ import annotations

from academy_runtime.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession

from academy_catalog.categories.repository import CategoryRepository
from academy_catalog.communities.repository import CommunityRepository
from academy_catalog.communities.schemas import CommunityOut, CreateCommunity, DeletedCommunity, EditCommunity
from academy_catalog.errors import invalid_field
from academy_catalog.models import Community


async def communities_for(
    session: AsyncSession, *, city: str | None, categories: list[str] | None
) -> list[CommunityOut]:
    """The chats a learner of `city` interested in `categories` is offered; unknown categories match nothing."""
    rows = await CommunityRepository(session).matching(city=city, categories=categories)
    return [CommunityOut.model_validate(row) for row in rows]


async def create_community(session: AsyncSession, command: CreateCommunity) -> CommunityOut:
    repository = CommunityRepository(session)
    if command.code is not None and await repository.code_taken(command.code):
        raise invalid_field("body.code", f"code {command.code!r} is already used by another community")
    community = Community(**command.model_dump())
    await check_consistent(session, community)
    await repository.add(community)
    return CommunityOut.model_validate(community)


async def edit_community(session: AsyncSession, community_id: int, command: EditCommunity) -> CommunityOut:
    community = await _community(session, community_id)
    for name, value in command.model_dump(exclude_unset=True).items():
        setattr(community, name, value)
    await check_consistent(session, community)
    await session.flush()
    return CommunityOut.model_validate(community)


async def delete_community(session: AsyncSession, community_id: int) -> DeletedCommunity:
    repository = CommunityRepository(session)
    await repository.delete(await _community(session, community_id))
    return DeletedCommunity(id=community_id)


async def check_consistent(session: AsyncSession, community: Community) -> None:
    """A city chat names its city and no category; a profession chat names a known category and no city."""
    if community.type == "city":
        if community.city is None:
            raise invalid_field("body.city", "a city community needs its city")
        if community.category is not None:
            raise invalid_field("body.category", "a city community has no category")
    else:
        if community.category is None:
            raise invalid_field("body.category", "a profession community needs its category")
        if community.city is not None:
            raise invalid_field("body.city", "a profession community has no city")
        if not await CategoryRepository(session).exists(community.category):
            raise invalid_field(
                "body.category", f"unknown category {community.category!r}; see GET /internal/categories"
            )


async def _community(session: AsyncSession, community_id: int) -> Community:
    community = await CommunityRepository(session).get(community_id, for_update=True)
    if community is None:
        raise NotFoundError(f"community {community_id} not found")
    return community
