"""Enrolments announced by progress, kept to find the course of the month when no course is flagged; and
the erasure of a learner, whose enrolments stay in the counts without naming them."""

from __future__ import annotations

from academy_contracts.progress import CourseEnrolledV1
from academy_contracts.users import UserErasedV2
from academy_runtime.consumer import Consumer, EventContext

from academy_catalog import metrics
from academy_catalog.enrolments import service
from academy_catalog.settings import CatalogSettings

enrolment_stats = Consumer("enrolment-stats")


@enrolment_stats.on(CourseEnrolledV1)
async def record_enrolment(ctx: EventContext, event: CourseEnrolledV1) -> None:
    """One enrolment counted once, unless the learner was erased."""
    # The top-course answer is cached for `top_course_cache_ttl_s` and not invalidated here: the
    # course of the month may lag enrolments by that much, which nobody can tell apart from a
    # slightly earlier look.
    if await service.record_enrolment(
        ctx.session, user_id=event.user_id, course_id=event.course_id, enrolled_at=event.enrolled_at
    ):
        metrics.ENROLMENTS_RECORDED.inc()


@enrolment_stats.on(UserErasedV2)
async def erase_learner(ctx: EventContext, event: UserErasedV2) -> None:
    """The learner's enrolments are detached from them (the counts, hence the cached course of the month,
    do not change: nothing to invalidate)."""
    settings = ctx.resources.settings_as(CatalogSettings)
    await service.erase_learner(ctx.session, user_id=event.user_id, time_zone=settings.catalog_timezone)
