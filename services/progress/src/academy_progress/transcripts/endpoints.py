from __future__ import annotations

import asyncio
from typing import Annotated

from academy_runtime.db import SessionDep
from academy_runtime.dependencies import ResourcesDep
from academy_runtime.errors import error_responses
from academy_runtime.ids import UserId
from academy_runtime.storage import object_storage
from fastapi import APIRouter, Body, Path

from academy_progress.clients import users_client
from academy_progress.dependencies import LearnerCommand, LearnerReader, SettingsDep
from academy_progress.learners.service import require_learner
from academy_progress.transcripts import service
from academy_progress.transcripts.schemas import LearnerTranscriptsOut, RequestTranscript, TranscriptOut

router = APIRouter(prefix="/internal/learners", tags=["transcripts"])


@router.post(
    "/{user_id}/transcript",
    responses=error_responses(
        404,
        503,
        s404="`learner_not_found`: the users service never announced the learner or erased them; `not_found`: "
        "no course is completed yet.",
        s503="Object storage, or the users service (the learner's name), is unavailable; try again later.",
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
    full name and current avatar are asked of the users service and drawn on it, never stored by progress
    (a `full_name` in the body is ignored); without the avatar when users does not give it, but never
    without the name.

    404 when no course is completed yet, `learner_not_found` for a learner the users service never
    announced or no longer knows (`academy_progress.learners`); 503 when the object storage or the users
    service cannot be reached. Safe to repeat: an unchanged transcript is not rendered again.
    """
    await require_learner(session, user_id)
    users = users_client(resources)
    full_name, avatar = await asyncio.gather(
        service.transcript_full_name(users, user_id), service.transcript_avatar(users, settings, user_id)
    )
    return await service.issue_transcript(
        session,
        object_storage(resources),
        settings,
        user_id=user_id,
        full_name=full_name,
        language=command.language if command else None,
        avatar=avatar,
    )


@router.get(
    "/{user_id}/transcripts",
    responses=error_responses(503, s503="Object storage is unavailable; try again later."),
    response_model=LearnerTranscriptsOut,
)
async def list_transcripts(
    user_id: Annotated[UserId, Path(examples=[1])], session: SessionDep, _: LearnerReader, resources: ResourcesDep
) -> LearnerTranscriptsOut:
    """The learner's transcripts as progress holds them, for their personal-data export: the one issued
    (courses, language, when) and every PDF stored under `transcripts/<user_id>/`. Empty lists for a learner
    without any (reads do not check the learner, `academy_progress.learners`); 503 when S3 cannot be listed."""
    return await service.learner_transcripts(session, object_storage(resources), user_id)
