from __future__ import annotations

from datetime import UTC, datetime

from academy_contracts.gamification import PointsAwardedV1
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gamification import metrics
from academy_gamification.models import messaging
from academy_gamification.points.repository import PointsRepository
from academy_gamification.points.schemas import LearnerPointsOut


async def award_points(
    session: AsyncSession,
    *,
    user_id: int,
    points: int,
    reason: str,
    award_key: str,
    source_event_id: str | None = None,
) -> PointsAwardedV1 | None:
    """Grant `points` once per `award_key`; returns the published event, or None if already granted."""
    repo = PointsRepository(session)
    entry_id = await repo.add_entry(
        user_id=user_id, points=points, reason=reason, award_key=award_key, source_event_id=source_event_id
    )
    if entry_id is None:
        return None
    score = await repo.add_to_score(user_id, points)
    score.level = await repo.level_for(score.total_points)
    event = PointsAwardedV1(
        user_id=user_id,
        award_id=entry_id,
        points=points,
        reason=reason,
        source_event_id=source_event_id,
        total_points=score.total_points,
        awarded_at=datetime.now(UTC),
    )
    await messaging.publish(session, event)
    metrics.POINTS_AWARDED.labels(reason).inc(points)
    return event


async def learner_points(session: AsyncSession, user_id: int) -> LearnerPointsOut:
    """A learner with no award yet has zero points (not a 404: every learner has a score)."""
    score = await PointsRepository(session).score(user_id)
    if score is None:
        return LearnerPointsOut(user_id=user_id, total_points=0, level=1, lessons_completed=0, courses_completed=0)
    return LearnerPointsOut.model_validate(score)
