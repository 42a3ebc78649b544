from __future__ import annotations

from academy_runtime.db import SessionDep
from academy_runtime.ids import UserId
from fastapi import APIRouter

from academy_progress.dependencies import LearnerCommand, LearnerReader
from academy_progress.reminders import service
from academy_progress.reminders.schemas import LearnerPreferencesOut, UpdateLearnerPreferences

router = APIRouter(prefix="/internal/learners", tags=["preferences"])


@router.get("/{user_id}/preferences", response_model=LearnerPreferencesOut)
async def get_preferences(user_id: UserId, session: SessionDep, _: LearnerReader) -> LearnerPreferencesOut:
    """The learner's time zone and reminder opt-out (defaults when never set)."""
    return await service.learner_preferences(session, user_id)


@router.put("/{user_id}/preferences", response_model=LearnerPreferencesOut)
async def put_preferences(
    user_id: UserId, command: UpdateLearnerPreferences, session: SessionDep, _: LearnerCommand
) -> LearnerPreferencesOut:
    """Set the time zone (an IANA name, else 422) and/or the opt-out; idempotent by nature."""
    return await service.update_learner_preferences(session, user_id, command)
