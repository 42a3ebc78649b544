from __future__ import annotations

from academy_contracts.billing import CoursePurchasedV1
from academy_runtime.consumer import Consumer, EventContext

from academy_progress.enrolments.service import enrol_after_purchase

enrolments = Consumer("enrolments")


@enrolments.on(CoursePurchasedV1)
async def enrol_buyer(ctx: EventContext, event: CoursePurchasedV1) -> None:
    """A bought course opens to its buyer once: the inbox stops a redelivery, UNIQUE(user, course) a re-sale."""
    await enrol_after_purchase(ctx.session, event)
