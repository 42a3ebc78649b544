from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TypeVar

from academy_contracts.gamification import (
    AchievementUnlockedV2,
    PointsAwardedFor,
    PointsAwardedV1,
    PointsAwardedV2,
    PointsReason,
)
from academy_contracts.gamification import Level as LevelInfo
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gamification import metrics
from academy_gamification.models import Level, messaging
from academy_gamification.points.repository import PointsRepository
from academy_gamification.points.schemas import LearnerPointsOut


async def award_points(
    session: AsyncSession,
    *,
    user_id: int,
    points: int,
    reason: PointsReason,
    award_key: str,
    awarded_for: PointsAwardedFor | None = None,
    category: str | None = None,
    source_event_id: str | None = None,
) -> PointsAwardedV2 | None:
    """Grant `points` once per `award_key`; returns the published v2 event, or None if already granted.

    The caller holds the learner's lock (`LEARNER_LOCK`): the totals are recomputed from the ledger,
    never incremented, so they are right whatever was granted before and in whichever order. Both
    versions are published during the transition (v2 adds what the points are for and the levels).
    """
    repo = PointsRepository(session)
    entry_id = await repo.add_entry(
        user_id=user_id,
        points=points,
        reason=reason,
        award_key=award_key,
        category=category,
        source_event_id=source_event_id,
    )
    if entry_id is None:
        return None
    total = await repo.ledger_total(user_id)
    await repo.save_total(user_id, total_points=total, level=await repo.level_for(total))
    if category is not None:
        await repo.save_category_total(user_id, category, await repo.ledger_total(user_id, category=category))
    levels = await repo.levels()
    awarded_at = datetime.now(UTC)
    event = await publish_in_learner_order(
        session,
        PointsAwardedV2(
            user_id=user_id,
            award_id=entry_id,
            points=points,
            reason=reason,
            awarded_for=awarded_for,
            source_event_id=source_event_id,
            total_points=total,
            level_before=level_of(levels, total - points),
            level_after=level_of(levels, total),
            awarded_at=awarded_at,
        ),
    )
    await messaging.publish(
        session,
        PointsAwardedV1(
            user_id=user_id,
            award_id=entry_id,
            points=points,
            reason=reason,
            source_event_id=source_event_id,
            total_points=total,
            awarded_at=awarded_at,
        ),
    )
    metrics.POINTS_AWARDED.labels(reason).inc(points)
    return event


E = TypeVar("E", PointsAwardedV2, AchievementUnlockedV2)


async def publish_in_learner_order(session: AsyncSession, data: E) -> E:
    """Publish the v2 event `data` as the next link of its learner's chain (`follows_event_id` set to the
    previous link) and return it as published.

    The caller holds the learner's lock, so the links are in the order the facts were applied, one
    after the other with no gap: consumers that tell the learner handle each after the one it follows.
    """
    repo = PointsRepository(session)
    linked = data.model_copy(update={"follows_event_id": await repo.last_event_id(data.user_id)})
    event = await messaging.publish(session, linked)
    await repo.save_last_event_id(data.user_id, event.id)
    return linked


def level_of(levels: list[Level], total_points: int) -> LevelInfo:
    """The level reached with `total_points`, as events carry it."""
    level, _ = current_level(levels, total_points)
    if level is None:  # the levels table starts at 0 points (migration reference data)
        raise LookupError(f"no level starts at or below {total_points} points: the levels table is incomplete")
    return LevelInfo(level=level.level, title=level.title_ru, title_en=level.title_en, min_points=level.min_points)


async def learner_standing(session: AsyncSession, user_id: int) -> tuple[int, LevelInfo]:
    """The learner's points total and level now (the caller holds the learner's lock)."""
    repo = PointsRepository(session)
    total = await repo.ledger_total(user_id)
    return total, level_of(await repo.levels(), total)


async def record_counts(session: AsyncSession, user_id: int, *, lessons_completed: int, courses_completed: int) -> None:
    await PointsRepository(session).save_counts(
        user_id, lessons_completed=lessons_completed, courses_completed=courses_completed
    )


def current_level(levels: list[Level], total_points: int) -> tuple[Level | None, Level | None]:
    """The level reached with `total_points` and the one after it (None at the top)."""
    reached = [lv for lv in levels if lv.min_points <= total_points]
    ahead = [lv for lv in levels if lv.min_points > total_points]
    return (reached[-1] if reached else None), (ahead[0] if ahead else None)


def streak_alive(last_activity: date | None, today: date) -> bool:
    """A streak still counts when the learner studied today or yesterday (today is not over yet)."""
    return last_activity is not None and (today - last_activity).days <= 1


async def learner_points(session: AsyncSession, user_id: int, *, today: date) -> LearnerPointsOut:
    """A learner with no award yet has zero points (not a 404: every learner has a score)."""
    repo = PointsRepository(session)
    score = await repo.score(user_id)
    streak = await repo.streak(user_id)
    total = score.total_points if score else 0
    level, next_level = current_level(await repo.levels(), total)
    current_streak = streak.current_days if streak and streak_alive(streak.last_activity_date, today) else 0
    return LearnerPointsOut(
        user_id=user_id,
        total_points=total,
        level=level.level if level else 1,
        level_title_ru=level.title_ru if level else "",
        level_title_en=level.title_en if level else "",
        min_points=level.min_points if level else 0,
        next_level_points=next_level.min_points if next_level else None,
        points_to_next_level=next_level.min_points - total if next_level else None,
        lessons_completed=score.lessons_completed if score else 0,
        courses_completed=score.courses_completed if score else 0,
        streak_days=current_streak,
        longest_streak_days=streak.longest_days if streak else 0,
    )
