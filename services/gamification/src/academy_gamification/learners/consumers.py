"""Learners' names and cities for the leaderboards, from the users service's events.

During the move from v1 to v2 the queue binds both versions of `user_registered` and `profile_updated`
(the users service publishes both for every fact): a worker of the previous release, still bound to v1
only, and one of this release may share the queue for a while, and every fact must reach one of them.
Each fact is applied once whatever the version and order (`service.supersedes`). Drop the v1 handlers
when the users service stops publishing v1.
"""

from __future__ import annotations

from academy_contracts.users import (
    ProfileUpdatedV1,
    ProfileUpdatedV2,
    UserErasedV1,
    UserRegisteredV1,
    UserRegisteredV2,
)
from academy_runtime.consumer import Consumer, EventContext

from academy_gamification.leaderboards.service import refresh_after_commit
from academy_gamification.learners import service
from academy_gamification.learners.service import ProfileChange, ProfileVersion

learner_profiles = Consumer("learner-profiles")

# A registration is the learner's first revision (UserRegisteredV2 always says 1).
_REGISTRATION_REVISION = 1


@learner_profiles.on(UserRegisteredV2)
async def record_registered_profile(ctx: EventContext, event: UserRegisteredV2) -> None:
    version = ProfileVersion(revision=event.revision, at=event.registered_at)
    await _apply(ctx, event.user_id, event.full_name, event.city, version)


@learner_profiles.on(ProfileUpdatedV2)
async def record_updated_profile(ctx: EventContext, event: ProfileUpdatedV2) -> None:
    version = ProfileVersion(revision=event.revision, at=event.updated_at)
    await _apply(ctx, event.user_id, event.full_name, event.city, version)


@learner_profiles.on(UserRegisteredV1)
async def record_registered_profile_v1(ctx: EventContext, event: UserRegisteredV1) -> None:
    version = ProfileVersion(revision=_REGISTRATION_REVISION, at=event.registered_at)
    await _apply(ctx, event.user_id, event.full_name, event.city, version)


@learner_profiles.on(ProfileUpdatedV1)
async def record_updated_profile_v1(ctx: EventContext, event: ProfileUpdatedV1) -> None:
    version = ProfileVersion(revision=None, at=event.updated_at)  # v1 does not carry the revision
    await _apply(ctx, event.user_id, event.full_name, event.city, version)


@learner_profiles.on(UserErasedV1)
async def forget_erased_profile(ctx: EventContext, event: UserErasedV1) -> None:
    change = await service.erase_profile(ctx.session, user_id=event.user_id, erased_at=event.erased_at)
    await _move_on_city_boards(ctx, event.user_id, change)


async def _apply(
    ctx: EventContext, user_id: int, full_name: str | None, city: str | None, version: ProfileVersion
) -> None:
    change = await service.apply_profile(ctx.session, user_id=user_id, full_name=full_name, city=city, version=version)
    await _move_on_city_boards(ctx, user_id, change)


async def _move_on_city_boards(ctx: EventContext, user_id: int, change: ProfileChange | None) -> None:
    if change is not None and change.old_city_key != change.new_city_key:
        await refresh_after_commit(ctx.session, ctx.resources, user_id, left_city_key=change.old_city_key)
