from __future__ import annotations

from academy_contracts.users import UserRegisteredV3
from academy_runtime.consumer import Consumer, EventContext

from academy_gamification.leaderboards.service import refresh_after_commit
from academy_gamification.learners.repository import LEARNER_LOCK
from academy_gamification.learners.service import learner_erased
from academy_gamification.points.service import award_points
from academy_gamification.settings import GamificationSettings

welcome_points = Consumer("welcome-points")


@welcome_points.on(UserRegisteredV3)
async def award_welcome_points(ctx: EventContext, event: UserRegisteredV3) -> None:
    """Every new learner gets welcome points, once: the award key is the learner, not the event. A
    registration delivered after the learner's erasure awards nothing (`WELCOME_POINTS`)."""
    settings = ctx.resources.settings_as(GamificationSettings)
    await LEARNER_LOCK.hold(ctx.session, event.user_id)
    if await learner_erased(ctx.session, event.user_id):
        return
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
