from __future__ import annotations

from academy_runtime.db import SessionDep
from academy_runtime.errors import error_responses
from academy_runtime.ids import UserId
from fastapi import APIRouter

from academy_progress.dependencies import LearnerCommand, LearnerReader
from academy_progress.learners.service import require_learner
from academy_progress.reminders import service
from academy_progress.reminders.schemas import LearnerPreferencesOut, UpdateLearnerPreferences

router = APIRouter(prefix="/internal/learners", tags=["preferences"])


@router.get("/{user_id}/preferences", response_model=LearnerPreferencesOut)
async def get_preferences(user_id: UserId, session: SessionDep, _: LearnerReader) -> LearnerPreferencesOut:
    """The learner's time zone and reminder opt-out (defaults when never set, and for a learner progress
    has not heard of: reads do not check, `academy_progress.learners`)."""
    return await service.learner_preferences(session, user_id)


@router.put(
    "/{user_id}/preferences",
    responses=error_responses(
        404,
        s404="`learner_not_found`: the users service never announced the learner or erased them (retry a "
        "moment after a registration).",
    ),
    response_model=LearnerPreferencesOut,
)
async def put_preferences(
    user_id: UserId, command: UpdateLearnerPreferences, session: SessionDep, _: LearnerCommand
) -> LearnerPreferencesOut:
    """Set the time zone (an IANA name, else 422) and/or the opt-out; idempotent by nature. 404
    `learner_not_found` for a learner the users service never announced (`academy_progress.learners`)."""
    await require_learner(session, user_id)
    return await service.update_learner_preferences(session, user_id, command)
