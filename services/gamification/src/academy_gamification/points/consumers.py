from __future__ import annotations

from academy_contracts.users import UserRegisteredV1, UserRegisteredV2
from academy_runtime.consumer import Consumer, EventContext

from academy_gamification.leaderboards.service import refresh_after_commit
from academy_gamification.learners.repository import LEARNER_LOCK
from academy_gamification.points.service import award_points
from academy_gamification.settings import GamificationSettings

welcome_points = Consumer("welcome-points")


@welcome_points.on(UserRegisteredV2)
@welcome_points.on(UserRegisteredV1)  # during the move to v2: both versions of a registration award once
async def award_welcome_points(ctx: EventContext, event: UserRegisteredV1 | UserRegisteredV2) -> None:
    """Every new learner gets welcome points, once: the award key is the learner, not the event (nor the
    version: users publishes v1 and v2 of each registration while consumers move to v2)."""
    settings = ctx.resources.settings_as(GamificationSettings)
    await LEARNER_LOCK.hold(ctx.session, event.user_id)
    awarded = await award_points(
        ctx.session,
        user_id=event.user_id,
        points=settings.welcome_points,
        reason="welcome",
        award_key=f"welcome:{event.user_id}",
        source_event_id=ctx.event.id,
    )
    if awarded is not None:
        await refresh_after_commit(ctx.session, ctx.resources, event.user_id)
