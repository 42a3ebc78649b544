from __future__ import annotations

import logging

from academy_contracts.gamification import AchievementUnlockedV1
from academy_runtime.consumer import Consumer, EventContext

from academy_billing import metrics
from academy_billing.learners.service import is_erased
from academy_billing.settings import BillingSettings
from academy_billing.wallet import service

log = logging.getLogger(__name__)

achievement_rewards = Consumer("achievement-rewards")


@achievement_rewards.on(AchievementUnlockedV1)
async def reward_achievement_with_coins(ctx: EventContext, event: AchievementUnlockedV1) -> None:
    """Credit coins for an unlocked achievement, once per (learner, achievement).

    The inbox drops a redelivered event; the reference also drops the same unlock re-published
    under a new event id, since an achievement is earned at most once per learner. A learner erased
    before the event arrived gets nothing: no coins for nobody.
    """
    if await is_erased(ctx.session, event.user_id):
        metrics.ERASED_LEARNER_EVENTS.labels(event.event_type).inc()
        return
    settings = ctx.resources.settings_as(BillingSettings)
    coins = event.points * settings.achievement_coins_per_point
    if coins == 0:
        log.info(
            "achievement carries no coins",
            extra={"user_id": event.user_id, "achievement_id": event.achievement_id},
        )
        return
    await service.credit(
        ctx.session,
        user_id=event.user_id,
        coins=coins,
        type="reward",
        reference=f"achievement:{event.user_id}:{event.achievement_id}",
        description=f"Награда за достижение «{event.title}»",
        low_balance_threshold=settings.low_balance_threshold_coins,
    )
