"""The catalog's events, folded into `course_projection` and `lesson_projection`.

Order does not matter: each snapshot carries the catalog's time (`published_at`, `updated_at`) and
the projection keeps the newest; archiving is final. Duplicates are stopped by the inbox, and
would be harmless anyway.
"""

from __future__ import annotations

from academy_contracts.catalog import CourseArchivedV1, CoursePublishedV1, CourseUpdatedV1
from academy_runtime.consumer import Consumer, EventContext

from academy_progress.projections import service

catalog_projection = Consumer("catalog-projection")


@catalog_projection.on(CoursePublishedV1)
async def project_published_course(ctx: EventContext, event: CoursePublishedV1) -> None:
    await service.apply_course_snapshot(ctx.session, event, version_at=event.published_at)


@catalog_projection.on(CourseUpdatedV1)
async def project_updated_course(ctx: EventContext, event: CourseUpdatedV1) -> None:
    await service.apply_course_snapshot(ctx.session, event, version_at=event.updated_at)


@catalog_projection.on(CourseArchivedV1)
async def project_archived_course(ctx: EventContext, event: CourseArchivedV1) -> None:
    await service.apply_course_archived(ctx.session, event)
