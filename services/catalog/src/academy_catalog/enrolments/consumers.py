"""Enrolments announced by progress, kept to find the course of the month when no course is flagged."""

from __future__ import annotations

from academy_contracts.progress import CourseEnrolledV1
from academy_runtime.consumer import Consumer, EventContext

from academy_catalog import metrics
from academy_catalog.enrolments.repository import EnrolmentRepository

enrolment_stats = Consumer("enrolment-stats")


@enrolment_stats.on(CourseEnrolledV1)
async def record_enrolment(ctx: EventContext, event: CourseEnrolledV1) -> None:
    # The top-course answer is cached for `top_course_cache_ttl_s` and not invalidated here: the
    # course of the month may lag enrolments by that much, which nobody can tell apart from a
    # slightly earlier look.
    if await EnrolmentRepository(ctx.session).record(
        user_id=event.user_id, course_id=event.course_id, enrolled_at=event.enrolled_at
    ):
        metrics.ENROLMENTS_RECORDED.inc()
