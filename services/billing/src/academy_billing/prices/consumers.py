from __future__ import annotations

from academy_contracts.catalog import CourseArchivedV1, CoursePublishedV1, CourseUpdatedV1
from academy_runtime.consumer import Consumer, EventContext

from academy_billing.prices import service

catalog_prices = Consumer("catalog-prices")


@catalog_prices.on(CoursePublishedV1)
async def record_published_course_price(ctx: EventContext, event: CoursePublishedV1) -> None:
    await service.apply_course_snapshot(ctx.session, event, changed_at=event.published_at)


@catalog_prices.on(CourseUpdatedV1)
async def record_updated_course_price(ctx: EventContext, event: CourseUpdatedV1) -> None:
    await service.apply_course_snapshot(ctx.session, event, changed_at=event.updated_at)


@catalog_prices.on(CourseArchivedV1)
async def take_archived_course_off_sale(ctx: EventContext, event: CourseArchivedV1) -> None:
    await service.archive_course(ctx.session, event.course_id, archived_at=event.archived_at)
