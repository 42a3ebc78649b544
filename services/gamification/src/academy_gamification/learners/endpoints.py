"""The learner's choices about how gamification shows them: appearing anonymously on the leaderboards."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.db import SessionDep
from academy_runtime.errors import error_responses
from academy_runtime.ids import UserId
from fastapi import APIRouter, Path

from academy_gamification.dependencies import LearnerChoiceCommand
from academy_gamification.learners import service
from academy_gamification.learners.schemas import LeaderboardVisibilityOut, SetLeaderboardVisibility

router = APIRouter(prefix="/internal/learners", tags=["learners"])


@router.put(
    "/{user_id}/leaderboard-visibility",
    responses=error_responses(
        404,
        s404="`learner_not_found`: gamification has not heard of the learner's registration yet (retry a "
        "moment later) or their data was erased.",
    ),
    response_model=LeaderboardVisibilityOut,
)
async def put_leaderboard_visibility(
    user_id: Annotated[UserId, Path(examples=[1])],
    command: SetLeaderboardVisibility,
    session: SessionDep,
    _: LearnerChoiceCommand,
) -> LeaderboardVisibilityOut:
    """Appear on the leaderboards anonymously (`anonymous: true`) or by the display name again; idempotent
    by nature. The next leaderboard read shows the change."""
    profile = await service.set_leaderboard_anonymous(session, user_id=user_id, anonymous=command.anonymous)
    return LeaderboardVisibilityOut(user_id=profile.user_id, anonymous=profile.leaderboard_anonymous)
