from __future__ import annotations

from typing import Annotated

from academy_runtime.db import SessionDep
from academy_runtime.errors import error_responses
from academy_runtime.idempotency import idempotency_key_header
from academy_runtime.ids import UserId
from fastapi import APIRouter, Depends, Path, Request

from academy_progress.dependencies import LearnerCommand, LearnerReader
from academy_progress.enrolments import service
from academy_progress.enrolments.schemas import EnrolInFreeCourse, EnrolmentResult, LearnerCourse
from academy_progress.learners.erasure import idempotency_subject
from academy_progress.learners.service import require_learner
from academy_progress.models import messaging

router = APIRouter(prefix="/internal/learners", tags=["enrolments"])

IdempotencyKey = Annotated[str | None, Depends(idempotency_key_header)]


@router.get("/{user_id}/courses", response_model=list[LearnerCourse])
async def learner_courses(user_id: UserId, session: SessionDep, _: LearnerReader) -> list[LearnerCourse]:
    """The learner's courses with lessons total, lessons completed and progress in percent (empty for a
    learner progress has not heard of: reads do not check, `academy_progress.learners`)."""
    courses: list[LearnerCourse] = await service.learner_courses(session, user_id)
    return courses


@router.post(
    "/{user_id}/enrolments",
    responses=error_responses(
        404,
        s404="`learner_not_found`: the users service never announced the learner or erased them (retry a "
        "moment after a registration); `course_not_found`: progress does not know the course.",
    ),
    response_model=EnrolmentResult,
)
async def enrol_in_free_course(
    user_id: Annotated[UserId, Path(examples=[1])],
    command: EnrolInFreeCourse,
    session: SessionDep,
    _: LearnerCommand,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> EnrolmentResult:
    """Enrol the learner on a free course (402 for a paid one, 404 for an unknown one, 404
    `learner_not_found` for a learner the users service never announced: `academy_progress.learners`)."""
    await require_learner(session, user_id)
    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        payload={"user_id": user_id, **command.model_dump()},
        response_model=EnrolmentResult,
        action=lambda: service.enrol_in_free_course(session, user_id=user_id, course_id=command.course_id),
        subject=idempotency_subject(user_id),
    )
