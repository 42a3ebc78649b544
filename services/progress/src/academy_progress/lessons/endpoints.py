from __future__ import annotations

from typing import Annotated

from academy_runtime.db import SessionDep
from academy_runtime.errors import error_responses
from academy_runtime.idempotency import idempotency_key_header
from academy_runtime.ids import CourseId, LessonId, UserId
from fastapi import APIRouter, Body, Depends, Path, Request

from academy_progress.dependencies import LearnerCommand, LearnerReader
from academy_progress.learners.erasure import idempotency_subject
from academy_progress.learners.service import require_learner
from academy_progress.lessons import service
from academy_progress.lessons.schemas import (
    CompleteLesson,
    CourseView,
    LessonCompletion,
    LessonProgressOut,
    RecordWatchTime,
)
from academy_progress.models import messaging

router = APIRouter(prefix="/internal/learners", tags=["lessons"])
_WRITE_404 = (
    "`learner_not_found`: the users service never announced the learner or erased them (retry a moment after "
    "a registration); `lesson_not_found`: the lesson is unknown or no longer reachable."
)

IdempotencyKey = Annotated[str | None, Depends(idempotency_key_header)]
# The examples: learner 1 on course 1, a free course of lessons 1..3 (the API tests seed the same).
Learner = Annotated[UserId, Path(examples=[1])]


@router.get("/{user_id}/courses/{course_id}", responses=error_responses(404), response_model=CourseView)
async def learner_course(
    user_id: Learner, course_id: Annotated[CourseId, Path(examples=[1])], session: SessionDep, _: LearnerReader
) -> CourseView:
    """The course with this learner's progress in each lesson (also for a learner not enrolled)."""
    return await service.course_view(session, user_id=user_id, course_id=course_id)


@router.post(
    "/{user_id}/lessons/{lesson_id}/complete",
    responses=error_responses(404, s404=_WRITE_404),
    response_model=LessonCompletion,
)
async def complete_lesson(
    user_id: Learner,
    lesson_id: Annotated[LessonId, Path(examples=[1])],
    *,
    session: SessionDep,
    _: LearnerCommand,
    request: Request,
    idempotency_key: IdempotencyKey,
    command: Annotated[CompleteLesson | None, Body()] = None,
) -> LessonCompletion:
    """Complete the lesson (idempotent); 403 when not enrolled and not a free preview, 404 unknown lesson
    or `learner_not_found` (`academy_progress.learners`)."""
    await require_learner(session, user_id)
    watch_time = command.watch_time if command else None
    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        payload={"user_id": user_id, "lesson_id": lesson_id, "watch_time": watch_time},
        response_model=LessonCompletion,
        action=lambda: service.complete_lesson(session, user_id=user_id, lesson_id=lesson_id, watch_time=watch_time),
        subject=idempotency_subject(user_id),
    )


@router.post(
    "/{user_id}/lessons/{lesson_id}/watch-time",
    responses=error_responses(404, s404=_WRITE_404),
    response_model=LessonProgressOut,
)
async def record_watch_time(
    user_id: Learner,
    lesson_id: Annotated[LessonId, Path(examples=[2])],
    command: RecordWatchTime,
    session: SessionDep,
    _: LearnerCommand,
) -> LessonProgressOut:
    """Record the seconds of the lesson's video watched so far (kept as a maximum, so retries are harmless);
    404 unknown lesson or `learner_not_found` (`academy_progress.learners`)."""
    await require_learner(session, user_id)
    return await service.record_watch_time(session, user_id=user_id, lesson_id=lesson_id, seconds=command.seconds)
