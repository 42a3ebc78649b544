"""Achievements: rules over counts of what the learner has done, each unlocked once.

The rules read counts of the projections (lessons, courses, courses per category, the longest daily
streak), never the event at hand: counts only grow, whatever order the facts arrive in, so a rule
met once stays met, and the final set of achievements does not depend on the order.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from academy_contracts.gamification import AchievementUnlockedV1, AchievementUnlockedV2, PointsAwardedFor
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gamification import metrics
from academy_gamification.achievements.repository import AchievementRepository
from academy_gamification.achievements.schemas import LearnerAchievementOut, LearnerAchievementsOut
from academy_gamification.models import Achievement, messaging
from academy_gamification.points.service import award_points, learner_standing, publish_in_learner_order
from academy_gamification.reference import AchievementRule, reference_data


@dataclass(frozen=True)
class LearnerCounts:
    lessons_completed: int
    courses_completed: int
    courses_by_category: Mapping[str, int]
    longest_streak_days: int

    def progress(self, rule: Achievement | AchievementRule) -> int:
        if rule.condition_type == "lessons_completed":
            return self.lessons_completed
        if rule.condition_type == "courses_completed":
            return self.courses_completed
        if rule.condition_type == "category_courses_completed":
            return self.courses_by_category.get(rule.category or "", 0)
        if rule.condition_type == "streak_days":
            return self.longest_streak_days
        return 0  # a condition type this version does not know (the table's check forbids it)


async def unlock_earned(
    session: AsyncSession,
    user_id: int,
    counts: LearnerCounts,
    *,
    source_event_id: str | None,
    earned: Collection[int] | None = None,
) -> list[AchievementUnlockedV2]:
    """Unlock every rule the counts meet that the learner does not have yet, and award its points.

    The caller holds the learner's lock; the unique (user_id, achievement_id) row makes each unlock
    happen once even so. Both versions of the event are published during the transition (billing's coin
    rewards bind v1; v2 carries the texts in both languages and the points and level it brought).
    """
    repo = AchievementRepository(session)
    if earned is None:  # `earned`: the ids the learner has, when the caller read them already
        earned = set(await repo.earned(user_id))
    unlocked = []
    for rule in (await reference_data(session)).rules:
        if rule.id in earned or counts.progress(rule) < rule.condition_value:
            continue
        earned_at = await repo.unlock(user_id, rule.id)
        if earned_at is None:
            continue
        # Its points first, so that the achievement's own v2 event can say what they brought.
        award = None
        if rule.points > 0:
            award = await award_points(
                session,
                user_id=user_id,
                points=rule.points,
                reason="achievement",
                award_key=f"achievement:{user_id}:{rule.id}",
                awarded_for=PointsAwardedFor(
                    kind="achievement", id=rule.id, title=rule.title, title_en=rule.title_en or None
                ),
                source_event_id=source_event_id,
            )
        if award is not None:
            total, level_before, level_after = award.total_points, award.level_before, award.level_after
        else:  # worth nothing, or its points were given before (an unlock restored)
            total, level_after = await learner_standing(session, user_id)
            level_before = level_after
        # What both versions carry; v2 adds the English texts and the learner's standing.
        unlocked_fields: dict[str, Any] = {
            "user_id": user_id,
            "achievement_id": rule.id,
            "code": rule.code,
            "title": rule.title,
            "points": rule.points,
            "category": rule.category,
            "unlocked_at": earned_at,
        }
        event = await publish_in_learner_order(
            session,
            AchievementUnlockedV2(
                **unlocked_fields,
                title_en=rule.title_en or None,
                description=rule.description or None,
                description_en=rule.description_en or None,
                award_id=award.award_id if award is not None else None,
                total_points=total,
                level_before=level_before,
                level_after=level_after,
            ),
        )
        await messaging.publish(session, AchievementUnlockedV1(**unlocked_fields))
        metrics.ACHIEVEMENTS_UNLOCKED.labels(rule.condition_type).inc()
        unlocked.append(event)
    return unlocked


async def learner_achievements(session: AsyncSession, user_id: int, counts: LearnerCounts) -> LearnerAchievementsOut:
    """Every active achievement with the learner's progress towards it, unlocked or not."""
    repo = AchievementRepository(session)
    earned = await repo.earned(user_id)

    def progress(rule: Achievement) -> int:
        return rule.condition_value if rule.id in earned else min(counts.progress(rule), rule.condition_value)

    return LearnerAchievementsOut(
        items=[
            LearnerAchievementOut(
                achievement_id=rule.id,
                code=rule.code,
                title=rule.title,
                title_en=rule.title_en,
                description=rule.description,
                description_en=rule.description_en,
                icon_url=rule.icon_url,
                points=rule.points,
                category=rule.category,
                condition_type=rule.condition_type,
                condition_value=rule.condition_value,
                progress=progress(rule),
                unlocked=rule.id in earned,
                earned_at=earned.get(rule.id),
            )
            for rule in await repo.active_rules()
        ]
    )
