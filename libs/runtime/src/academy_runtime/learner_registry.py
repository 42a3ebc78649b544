"""Which learners a service knows of: a projection of the users service's registrations and erasures.

A service that takes writes keyed by a learner id (billing, progress) keeps a table of the learners the
users service announced — `user_id` (primary key), `registered_at`, `source`, `erased_at` — and refuses a
write for an id not in it, or erased, with 404 `learner_not_found`, so nothing lands on an id a later
registration would take. The table is the service's own (its schema, its migration); this module holds
what is the same everywhere: the consumer of `users.user_registered` (v3, and v1/v2 still queued from
before the issue-10 release: any version is a registration) and `users.user_erased` (v2, and v1 still
queued), the upserts, and the look-up. Order does not matter: a registration never undoes an erasure that
arrived first, and the row is never deleted — it is what keeps a later write off an erased id.

An erasure is also the service's cue to forget the learner (152-ФЗ art. 21 §5, the contract of
`users.user_erased.v2`): `learner_registry_consumer(..., on_erased=...)` runs the service's own erasure in
the transaction that records it, after the learner's row is locked by that upsert. A write that checked
the learner with `learner_state(..., lock=True)` holds a share lock on the same row until it commits, so
the erasure waits for it and then removes what it wrote, and a write that starts after the erasure sees
`erased_at` and is refused: nothing the learner did lands after their erasure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from academy_contracts.users import (
    UserErasedV1,
    UserErasedV2,
    UserRegisteredV1,
    UserRegisteredV2,
    UserRegisteredV3,
)
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_runtime.consumer import Consumer, EventContext
from academy_runtime.errors import LearnerNotFoundError

ErasureHook = Callable[[EventContext, int], Awaitable[None]]
"""A service's erasure of one learner: `(ctx, user_id)`, run in the consumer's transaction (ctx.session)
right after the registry recorded the erasure. It must be idempotent: an erasure announced twice (v1 and
v2 of one fact, or the same fact under another event id) runs it twice."""


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
    """The learner was erased: the service takes no new write for them. The row is locked until the
    transaction ends (the upsert takes its lock), so a write holding `learner_state(..., lock=True)` is
    waited for. `registered_at` fills a table whose column is required when the erasure arrives first."""
    stmt = insert(model).values(user_id=user_id, registered_at=registered_at, source="event", erased_at=erased_at)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[model.user_id], set_={"erased_at": stmt.excluded.erased_at})
    )


async def learner_state(session: AsyncSession, model: Any, user_id: int, *, lock: bool = False) -> LearnerState:
    """KNOWN or UNKNOWN (not announced yet); raises LearnerNotFoundError (404) for an erased learner.

    `lock=True` (a write about to follow): the learner's row is share-locked until the transaction ends,
    so an erasure arriving meanwhile waits for this write to commit and then erases what it wrote.
    """
    statement = select(model).where(model.user_id == user_id)
    if lock:
        statement = statement.with_for_update(read=True)
    learner = await session.scalar(statement)
    if learner is None:
        return LearnerState.UNKNOWN
    if learner.erased_at is not None:
        raise LearnerNotFoundError(user_id, f"learner {user_id} was erased")
    return LearnerState.KNOWN


async def is_erased(session: AsyncSession, model: Any, user_id: int) -> bool:
    """Whether the users service erased the learner (an unknown id is not erased). For work that is not a
    learner's request and must not land on an erased id: an event's handler, a settlement, a job."""
    erased_at = await session.scalar(select(model.erased_at).where(model.user_id == user_id))
    return erased_at is not None


def learner_registry_consumer(
    model: Any, *, erased_registered_at_required: bool = False, on_erased: ErasureHook | None = None
) -> Consumer:
    """The `learner-registry` consumer that fills `model` from the users service's events.

    `erased_registered_at_required`: the table's `registered_at` is NOT NULL, so an erasure that arrives
    first records its own time there. `on_erased`: the service's erasure of the learner's data (see
    `ErasureHook`), run in the same transaction as the registry's `erased_at`.
    """
    registry = Consumer("learner-registry")

    @registry.on(UserRegisteredV3)
    async def registered(ctx: EventContext, event: UserRegisteredV3) -> None:
        await record_registered(ctx.session, model, user_id=event.user_id, registered_at=event.registered_at)

    # v1 and v2 of `user_registered` and v1 of `user_erased` are no longer published (issue 10's release
    # of the users service publishes v3 and `user_erased.v2` only). Their handlers stay for the events
    # still queued from before that release; drop them, and their bindings, in the release after, once
    # every `<service>.learner-registry` queue and its dead letters hold none of them.
    @registry.on(UserRegisteredV2)
    async def registered_v2(ctx: EventContext, event: UserRegisteredV2) -> None:
        await record_registered(ctx.session, model, user_id=event.user_id, registered_at=event.registered_at)

    @registry.on(UserRegisteredV1)
    async def registered_v1(ctx: EventContext, event: UserRegisteredV1) -> None:
        await record_registered(ctx.session, model, user_id=event.user_id, registered_at=event.registered_at)

    async def erase(ctx: EventContext, user_id: int, erased_at: datetime) -> None:
        await record_erased(
            ctx.session,
            model,
            user_id=user_id,
            erased_at=erased_at,
            registered_at=erased_at if erased_registered_at_required else None,
        )
        if on_erased is not None:
            await on_erased(ctx, user_id)

    @registry.on(UserErasedV2)
    async def erased(ctx: EventContext, event: UserErasedV2) -> None:
        await erase(ctx, event.user_id, event.erased_at)

    @registry.on(UserErasedV1)
    async def erased_v1(ctx: EventContext, event: UserErasedV1) -> None:
        # An erasure from before the release is an erasure all the same: the service forgets the learner.
        await erase(ctx, event.user_id, event.erased_at)

    return registry
