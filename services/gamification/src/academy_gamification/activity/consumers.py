from __future__ import annotations

from academy_contracts.progress import CourseCompletedV1, LessonCompletedV1
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


@learning_progress.on(CourseCompletedV1)
async def reward_completed_course(ctx: EventContext, event: CourseCompletedV1) -> None:
    recorded = await service.record_course_completed(
        ctx.session,
        ctx.resources.settings_as(GamificationSettings),
        user_id=event.user_id,
        course_id=event.course_id,
        category=event.category,
        completed_at=event.completed_at,
        source_event_id=ctx.event.id,
    )
    if recorded:
        await refresh_after_commit(ctx.session, ctx.resources, event.user_id)
