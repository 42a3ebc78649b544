"""`progress.learners` from the users service's events (see `learners.service`).

The users service publishes v1 and v2 of `user_registered` for every registration: the queue binds both
(either one is enough to know the learner exists), and applying the same fact twice changes nothing.
Order does not matter: a registration never undoes an erasure that arrived first.
"""

from __future__ import annotations

from academy_contracts.users import UserErasedV1, UserRegisteredV1, UserRegisteredV2
from academy_runtime.consumer import Consumer, EventContext

from academy_progress.learners import service

learner_registry = Consumer("learner-registry")


@learner_registry.on(UserRegisteredV2)
async def record_registered_learner(ctx: EventContext, event: UserRegisteredV2) -> None:
    await service.record_registered(ctx.session, user_id=event.user_id, registered_at=event.registered_at)


@learner_registry.on(UserRegisteredV1)
async def record_registered_learner_v1(ctx: EventContext, event: UserRegisteredV1) -> None:
    await service.record_registered(ctx.session, user_id=event.user_id, registered_at=event.registered_at)


@learner_registry.on(UserErasedV1)
async def record_erased_learner(ctx: EventContext, event: UserErasedV1) -> None:
    await service.record_erased(ctx.session, user_id=event.user_id, erased_at=event.erased_at)
