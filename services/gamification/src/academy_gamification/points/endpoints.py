from __future__ import annotations

from datetime import datetime

from academy_runtime.db import SessionDep
from academy_runtime.ids import UserId
from fastapi import APIRouter

from academy_gamification.dependencies import LearnerStandingReader, SettingsDep
from academy_gamification.points import service
from academy_gamification.points.schemas import LearnerPointsOut

router = APIRouter(prefix="/internal/learners", tags=["points"])


@router.get("/{user_id}/points", response_model=LearnerPointsOut)
async def get_points(
    user_id: UserId, session: SessionDep, settings: SettingsDep, _: LearnerStandingReader
) -> LearnerPointsOut:
    """The learner's points, level and streak. Points come only from events (the one write keyed by a
    learner id over HTTP is their leaderboard visibility, 404 for an unknown learner); reads do not ask
    whether the learner exists: a learner it has not heard of has 0 points, as a new one has, never a 404."""
    today = datetime.now(settings.streak_zone).date()
    return await service.learner_points(session, user_id, today=today)
