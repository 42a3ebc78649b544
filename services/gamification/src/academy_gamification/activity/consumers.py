from __future__ import annotations

from typing import Any

from academy_contracts.progress import CourseCompletedV1, CourseCompletedV2, LessonCompletedV1
from academy_runtime.consumer import Consumer, EventContext
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gamification.activity import service
from academy_gamification.activity.repository import ActivityRepository
from academy_gamification.leaderboards.service import refresh_after_commit
from academy_gamification.learners.repository import LEARNER_LOCK
from academy_gamification.settings import GamificationSettings


async def _prepare_batch(session: AsyncSession, events: list[Any]) -> None:
    """A batch takes all its learners' locks in one statement, in ascending order (no deadlock between
    batches); each handler's own `LEARNER_LOCK.hold` then finds its learner's lock held. Then it records
    all its completed lessons in one statement, which `record_lesson_completed` reads instead of its own."""
    await LEARNER_LOCK.hold_all(session, [event.user_id for event in events])
    await ActivityRepository(session).add_lesson_completions(
        [
            (event.user_id, event.lesson_id, event.course_id, event.completed_at)
            for event in events
            if isinstance(event, LessonCompletedV1)
        ]
    )


# A backlog of completions (an evening of learners finishing lessons) is handled 16 events per transaction:
# every handler here keeps its effects in the transaction (the leaderboards are written after commit) and
# locks the learner the event is about (academy_runtime.consumer.Consumer).
learning_progress = Consumer("learning-progress", batch_size=16, prepare_batch=_prepare_batch)


@learning_progress.on(LessonCompletedV1)
async def reward_completed_lesson(ctx: EventContext, event: LessonCompletedV1) -> None:
    recorded = await service.record_lesson_completed(
        ctx.session,
        ctx.resources.settings_as(GamificationSettings),
        user_id=event.user_id,
        lesson_id=event.lesson_id,
        course_id=event.course_id,
        category=event.category,
        completed_at=event.completed_at,
        source_event_id=ctx.event.id,
    )
    if recorded is not False:
        await refresh_after_commit(ctx.session, ctx.resources, event.user_id, standing=recorded)


@learning_progress.on(CourseCompletedV2)
async def reward_completed_course(ctx: EventContext, event: CourseCompletedV2) -> None:
    """Points for the course (named by its title), counts, achievements."""
    await _record_completed_course(ctx, event, course_title=event.course_title)


# Progress publishes both versions of a completion in one transaction, v2 first: its v1 twin is
# normally handled at the same moment, and done within this.
_V2_TWIN_WAIT_S = 1.0


# Alone, never in a batch: it waits for its v2 twin's commit, which a batch holding the learner's lock (or
# with the twin later in it) would keep from happening.
@learning_progress.on(CourseCompletedV1, batch=False)
async def reward_completed_course_v1(ctx: EventContext, event: CourseCompletedV1) -> None:
    """During the move to v2 only (a worker of the previous release, bound to v1 alone, may share the queue
    during a rolling upgrade; the binding goes when progress stops publishing v1). The course is recorded
    once whichever version comes first, and only v2 names it for its points: give the v2 twin a moment."""
    if await service.course_recorded_within(
        ctx.session, user_id=event.user_id, course_id=event.course_id, seconds=_V2_TWIN_WAIT_S
    ):
        return
    await _record_completed_course(ctx, event, course_title=None)


async def _record_completed_course(
    ctx: EventContext, event: CourseCompletedV1 | CourseCompletedV2, *, course_title: str | None
) -> None:
    recorded = await service.record_course_completed(
        ctx.session,
        ctx.resources.settings_as(GamificationSettings),
        user_id=event.user_id,
        course_id=event.course_id,
        course_title=course_title,
        category=event.category,
        completed_at=event.completed_at,
        source_event_id=ctx.event.id,
    )
    if recorded:
        await refresh_after_commit(ctx.session, ctx.resources, event.user_id)
