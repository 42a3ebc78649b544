from __future__ import annotations

from academy_runtime.db import SessionDep
from academy_runtime.ids import UserId
from fastapi import APIRouter

from academy_gamification.achievements import service
from academy_gamification.achievements.schemas import LearnerAchievementsOut
from academy_gamification.activity.service import learner_counts
from academy_gamification.dependencies import LearnerStandingReader

router = APIRouter(prefix="/internal/learners", tags=["achievements"])


@router.get("/{user_id}/achievements", response_model=LearnerAchievementsOut)
async def get_achievements(user_id: UserId, session: SessionDep, _: LearnerStandingReader) -> LearnerAchievementsOut:
    """Every achievement with the learner's progress; a learner with no activity yet (or one gamification
    has not heard of: reads do not check) has all locked."""
    return await service.learner_achievements(session, user_id, await learner_counts(session, user_id))
