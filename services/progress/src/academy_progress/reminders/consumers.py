"""The learners' time zones, from the users service's events: reminders go out in local daytime.

Each v2 event carries the learner's whole profile as of a `revision`; the zone of the highest revision
wins whatever the order of arrival, and a redelivery or the same fact again changes nothing.
"""

from __future__ import annotations

from academy_contracts.users import ProfileUpdatedV2, UserRegisteredV2
from academy_runtime.consumer import Consumer, EventContext

from academy_progress.reminders.service import record_learner_time_zone

learner_time_zones = Consumer("learner-time-zones")


@learner_time_zones.on(UserRegisteredV2)
async def record_registered_time_zone(ctx: EventContext, event: UserRegisteredV2) -> None:
    await record_learner_time_zone(ctx.session, event)


@learner_time_zones.on(ProfileUpdatedV2)
async def record_updated_time_zone(ctx: EventContext, event: ProfileUpdatedV2) -> None:
    await record_learner_time_zone(ctx.session, event)
