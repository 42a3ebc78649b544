from __future__ import annotations

from academy_contracts.progress import CourseCompletedV1, CourseCompletedV2, LessonCompletedV1
from academy_runtime.consumer import Consumer, EventContext

from academy_gamification.activity import service
from academy_gamification.leaderboards.service import refresh_after_commit
from academy_gamification.settings import GamificationSettings

learning_progress = Consumer("learning-progress")


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
    if recorded:
        await refresh_after_commit(ctx.session, ctx.resources, event.user_id)


@learning_progress.on(CourseCompletedV2)
@learning_progress.on(CourseCompletedV1)  # during the move to v2: a course is recorded once, whichever comes first
async def reward_completed_course(ctx: EventContext, event: CourseCompletedV1 | CourseCompletedV2) -> None:
    """Points for the course (named by its title, which only v2 carries), counts, achievements. Progress
    publishes both versions of each completion, v2 first; the v1 binding goes when it stops publishing v1
    (a worker of the previous release, bound to v1 only, may share the queue during a rolling upgrade)."""
    recorded = await service.record_course_completed(
        ctx.session,
        ctx.resources.settings_as(GamificationSettings),
        user_id=event.user_id,
        course_id=event.course_id,
        course_title=event.course_title if isinstance(event, CourseCompletedV2) else None,
        category=event.category,
        completed_at=event.completed_at,
        source_event_id=ctx.event.id,
    )
    if recorded:
        await refresh_after_commit(ctx.session, ctx.resources, event.user_id)
