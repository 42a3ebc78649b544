from __future__ import annotations

from typing import Annotated

from academy_runtime.db import SessionDep
from academy_runtime.dependencies import ResourcesDep
from academy_runtime.errors import error_responses
from academy_runtime.ids import UserId
from academy_runtime.storage import object_storage
from fastapi import APIRouter, Body, Path

from academy_progress.clients import users_client
from academy_progress.dependencies import LearnerCommand, SettingsDep
from academy_progress.learners.service import require_learner
from academy_progress.transcripts import service
from academy_progress.transcripts.schemas import RequestTranscript, TranscriptOut

router = APIRouter(prefix="/internal/learners", tags=["transcripts"])


@router.post(
    "/{user_id}/transcript",
    responses=error_responses(
        404,
        503,
        s404="`learner_not_found`: the users service never announced the learner or erased them; `not_found`: "
        "no course is completed yet.",
        s503="Object storage is unavailable; try again later.",
    ),
    response_model=TranscriptOut,
)
async def issue_transcript(
    user_id: Annotated[UserId, Path(examples=[1])],
    session: SessionDep,
    _: LearnerCommand,
    resources: ResourcesDep,
    settings: SettingsDep,
    command: Annotated[RequestTranscript | None, Body()] = None,
) -> TranscriptOut:
    """The transcript PDF of the learner's completed courses: stored in S3, returned as a presigned link.

    In the learner's `language` (`en`, else Russian); each language is a PDF of its own. The learner's
    current avatar is drawn on it when they have one (asked of the users service; without it when users
    does not answer).

    404 when no course is completed yet, `learner_not_found` for a learner the users service never
    announced (`academy_progress.learners`); 503 when the object storage cannot be reached. Safe to
    repeat: an unchanged transcript is not rendered again.
    """
    await require_learner(session, user_id)
    avatar = await service.transcript_avatar(users_client(resources), settings, user_id)
    return await service.issue_transcript(
        session,
        object_storage(resources),
        settings,
        user_id=user_id,
        full_name=command.full_name if command else None,
        language=command.language if command else None,
        avatar=avatar,
    )
