"""Learners' display names and cities for the leaderboards, and their erasure, from the users service's events.

The users service publishes `user_registered` and `profile_updated` in version 3 only (issue 10): the
display name («Анна П.») it derives, never the full name. Each fact is applied once whatever the order
(`service.supersedes`, by the users revision).

`users.user_erased.v2` erases the learner (`service.erase_learner`). The handler of `user_erased.v1`
stays for the erasures users published before it moved to v2 and that may still wait in this queue, its
retry queues or its dead letters (an operator's re-drive): an erasure that found no handler would be
acknowledged and lost. It goes once those are drained.
"""

from __future__ import annotations

from academy_contracts.users import ProfileUpdatedV3, UserErasedV1, UserErasedV2, UserRegisteredV3
from academy_runtime.consumer import Consumer, EventContext

from academy_gamification.leaderboards.service import refresh_after_commit, remove_after_commit
from academy_gamification.learners import service
from academy_gamification.learners.service import ProfileVersion

learner_profiles = Consumer("learner-profiles")


@learner_profiles.on(UserRegisteredV3)
async def record_registered_profile(ctx: EventContext, event: UserRegisteredV3) -> None:
    """The registration's display name and city (revision 1)."""
    version = ProfileVersion(revision=event.revision, at=event.registered_at)
    await _apply(ctx, event.user_id, event.display_name, event.city, version)


@learner_profiles.on(ProfileUpdatedV3)
async def record_updated_profile(ctx: EventContext, event: ProfileUpdatedV3) -> None:
    """The profile as of `event.revision`, if no newer one is held."""
    version = ProfileVersion(revision=event.revision, at=event.updated_at)
    await _apply(ctx, event.user_id, event.display_name, event.city, version)


@learner_profiles.on(UserErasedV2)
async def erase_learner(ctx: EventContext, event: UserErasedV2) -> None:
    """Everything about the learner goes but their ledger rows, detached (`service.erase_learner`); then
    they leave every cached leaderboard."""
    await _erase(ctx, event.user_id)


@learner_profiles.on(UserErasedV1)
async def erase_learner_v1(ctx: EventContext, event: UserErasedV1) -> None:
    """An erasure published before users moved to v2 (see the module docstring): the same effect."""
    await _erase(ctx, event.user_id)


async def _erase(ctx: EventContext, user_id: int) -> None:
    await service.erase_learner(ctx.session, user_id=user_id)
    remove_after_commit(ctx.session, ctx.resources, user_id)


async def _apply(
    ctx: EventContext, user_id: int, display_name: str | None, city: str | None, version: ProfileVersion
) -> None:
    change = await service.apply_profile(
        ctx.session, user_id=user_id, display_name=display_name, city=city, version=version
    )
    if change is not None and change.old_city_key != change.new_city_key:
        await refresh_after_commit(ctx.session, ctx.resources, user_id, left_city_key=change.old_city_key)
