from __future__ import annotations

from academy_contracts.users import ProfileUpdatedV1, UserErasedV1, UserRegisteredV1
from academy_runtime.consumer import Consumer, EventContext

from academy_gamification.leaderboards.service import refresh_after_commit
from academy_gamification.learners import service
from academy_gamification.learners.service import ProfileChange

learner_profiles = Consumer("learner-profiles")


@learner_profiles.on(UserRegisteredV1)
async def record_registered_profile(ctx: EventContext, event: UserRegisteredV1) -> None:
    change = await service.apply_profile(
        ctx.session,
        user_id=event.user_id,
        full_name=event.full_name,
        city=event.city,
        as_of=event.registered_at,
        is_update=False,
    )
    await _move_on_city_boards(ctx, event.user_id, change)


@learner_profiles.on(ProfileUpdatedV1)
async def record_updated_profile(ctx: EventContext, event: ProfileUpdatedV1) -> None:
    change = await service.apply_profile(
        ctx.session,
        user_id=event.user_id,
        full_name=event.full_name,
        city=event.city,
        as_of=event.updated_at,
        is_update=True,
    )
    await _move_on_city_boards(ctx, event.user_id, change)


@learner_profiles.on(UserErasedV1)
async def forget_erased_profile(ctx: EventContext, event: UserErasedV1) -> None:
    change = await service.erase_profile(ctx.session, user_id=event.user_id, erased_at=event.erased_at)
    await _move_on_city_boards(ctx, event.user_id, change)


async def _move_on_city_boards(ctx: EventContext, user_id: int, change: ProfileChange | None) -> None:
    if change is not None and change.old_city_key != change.new_city_key:
        await refresh_after_commit(ctx.session, ctx.resources, user_id, left_city_key=change.old_city_key)
