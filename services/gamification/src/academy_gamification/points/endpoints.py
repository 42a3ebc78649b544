from __future__ import annotations

from typing import Annotated

from academy_runtime.auth import ServiceCaller
from academy_runtime.db import SessionDep
from fastapi import APIRouter, Path

from academy_gamification.points import service
from academy_gamification.points.schemas import LearnerPointsOut

router = APIRouter(prefix="/internal/learners", tags=["points"])

UserId = Annotated[int, Path(gt=0, le=2_147_483_647)]


@router.get("/{user_id}/points", response_model=LearnerPointsOut)
async def get_points(user_id: UserId, session: SessionDep, _: ServiceCaller) -> LearnerPointsOut:
    return await service.learner_points(session, user_id)
