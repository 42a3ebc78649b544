"""Which learners a service knows of: a projection of the users service's registrations and erasures.

A service that takes writes keyed by a learner id (billing, progress) keeps a table of the learners the
users service announced — `user_id` (primary key), `registered_at`, `source`, `erased_at` — and refuses a
write for an id not in it, or erased, with 404 `learner_not_found`, so nothing lands on an id a later
registration would take. The table is the service's own (its schema, its migration); this module holds
what is the same everywhere: the consumer of `users.user_registered` (v1 or v2: either is a registration)
and `users.user_erased.v1`, the upserts, and the look-up. Order does not matter: a registration never
undoes an erasure that arrived first, and the row is never deleted.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from academy_contracts.users import UserErasedV1, UserRegisteredV1, UserRegisteredV2
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_runtime.consumer import Consumer, EventContext
from academy_runtime.errors import LearnerNotFoundError


class LearnerState(StrEnum):
    """What the registry says of a learner id."""

    KNOWN = "known"
    UNKNOWN = "unknown"


async def record_registered(
    session: AsyncSession, model: Any, *, user_id: int, registered_at: datetime | None, source: str = "event"
) -> None:
    """The learner exists (from an event, or a service's own confirmation). A second registration (v1
    and v2 of one fact, a redelivery) changes nothing, and an erasure that came first stays."""
    stmt = insert(model).values(user_id=user_id, registered_at=registered_at, source=source)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=[model.user_id]))


async def record_erased(
    session: AsyncSession, model: Any, *, user_id: int, erased_at: datetime, registered_at: datetime | None = None
) -> None:
    """The learner was erased: the service takes no new write for them (their records stay).
    `registered_at` fills a table whose column is required when the erasure arrives first."""
    stmt = insert(model).values(user_id=user_id, registered_at=registered_at, source="event", erased_at=erased_at)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[model.user_id], set_={"erased_at": stmt.excluded.erased_at})
    )


async def learner_state(session: AsyncSession, model: Any, user_id: int) -> LearnerState:
    """KNOWN or UNKNOWN (not announced yet); raises LearnerNotFoundError (404) for an erased learner."""
    learner = await session.scalar(select(model).where(model.user_id == user_id))
    if learner is None:
        return LearnerState.UNKNOWN
    if learner.erased_at is not None:
        raise LearnerNotFoundError(user_id, f"learner {user_id} was erased")
    return LearnerState.KNOWN


def learner_registry_consumer(model: Any, *, erased_registered_at_required: bool = False) -> Consumer:
    """The `learner-registry` consumer that fills `model` from the users service's events.

    `erased_registered_at_required`: the table's `registered_at` is NOT NULL, so an erasure that arrives
    first records its own time there."""
    registry = Consumer("learner-registry")

    @registry.on(UserRegisteredV2)
    async def registered(ctx: EventContext, event: UserRegisteredV2) -> None:
        await record_registered(ctx.session, model, user_id=event.user_id, registered_at=event.registered_at)

    @registry.on(UserRegisteredV1)
    async def registered_v1(ctx: EventContext, event: UserRegisteredV1) -> None:
        await record_registered(ctx.session, model, user_id=event.user_id, registered_at=event.registered_at)

    @registry.on(UserErasedV1)
    async def erased(ctx: EventContext, event: UserErasedV1) -> None:
        await record_erased(
            ctx.session,
            model,
            user_id=event.user_id,
            erased_at=event.erased_at,
            registered_at=event.erased_at if erased_registered_at_required else None,
        )

    return registry
