from __future__ import annotations

from typing import Any

from academy_contracts.progress import CourseCompletedV2, LessonCompletedV1
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
    """Points for the course (named by its title), counts, achievements.

    Only v2: progress publishes both versions of a completion in one transaction, and the v1 twin, bound here
    while workers of the release before v2 shared the queue, is no longer (issue 11: its handler waited up to
    a second for the twin's commit in one of this consumer's two parallel places, which in the bot bench held
    most of the consumer's time and queued every learner's points behind it). An older queue still bound to
    v1 acknowledges those events as `ignored` (academy_runtime.consumer)."""
    recorded = await service.record_course_completed(
        ctx.session,
        ctx.resources.settings_as(GamificationSettings),
        user_id=event.user_id,
        course_id=event.course_id,
        course_title=event.course_title,
        category=event.category,
        completed_at=event.completed_at,
        source_event_id=ctx.event.id,
    )
    if recorded:
        await refresh_after_commit(ctx.session, ctx.resources, event.user_id)
