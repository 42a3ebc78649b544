"""The learners' time zones, from the users service's events: reminders go out in local daytime.

Each event carries the learner's whole profile as of a `revision`; the zone of the highest revision wins
whatever the order of arrival, and a redelivery or the same fact again changes nothing. The users service
publishes v3 (issue 10: a display name instead of the full name, which progress never read); v2 events
still queued from before its release carry the same zone and revisions of the same sequence.
"""

from __future__ import annotations

from academy_contracts.users import ProfileUpdatedV2, ProfileUpdatedV3, UserRegisteredV2, UserRegisteredV3
from academy_runtime.consumer import Consumer, EventContext

from academy_progress.reminders.service import record_learner_time_zone

learner_time_zones = Consumer("learner-time-zones")


@learner_time_zones.on(UserRegisteredV3)
async def record_registered_time_zone(ctx: EventContext, event: UserRegisteredV3) -> None:
    await record_learner_time_zone(ctx.session, event)


@learner_time_zones.on(ProfileUpdatedV3)
async def record_updated_time_zone(ctx: EventContext, event: ProfileUpdatedV3) -> None:
    await record_learner_time_zone(ctx.session, event)


# v2 is no longer published (the users service's issue-10 release publishes v3 only): these two handle
# what was queued before it. Drop them, and their bindings, in the release after, once the
# `progress.learner-time-zones` queue and its dead letters hold no v2 event.
@learner_time_zones.on(UserRegisteredV2)
async def record_registered_time_zone_v2(ctx: EventContext, event: UserRegisteredV2) -> None:
    await record_learner_time_zone(ctx.session, event)


@learner_time_zones.on(ProfileUpdatedV2)
async def record_updated_time_zone_v2(ctx: EventContext, event: ProfileUpdatedV2) -> None:
    await record_learner_time_zone(ctx.session, event)
