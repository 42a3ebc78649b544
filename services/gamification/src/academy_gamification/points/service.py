from __future__ import annotations

from datetime import UTC, date, datetime

from academy_contracts.gamification import PointsAwardedV1, PointsReason
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
    category: str | None = None,
    source_event_id: str | None = None,
) -> PointsAwardedV1 | None:
    """Grant `points` once per `award_key`; returns the published event, or None if already granted.

    The caller holds the learner's lock (`LEARNER_LOCK`): the totals are recomputed from the ledger,
    never incremented, so they are right whatever was granted before and in whichever order.
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
    event = PointsAwardedV1(
        user_id=user_id,
        award_id=entry_id,
        points=points,
        reason=reason,
        source_event_id=source_event_id,
        total_points=total,
        awarded_at=datetime.now(UTC),
    )
    await messaging.publish(session, event)
    metrics.POINTS_AWARDED.labels(reason).inc(points)
    return event


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
