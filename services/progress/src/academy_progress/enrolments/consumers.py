from __future__ import annotations

from academy_contracts.billing import CoursePurchasedV1, PurchaseRefundedV1
from academy_runtime.consumer import Consumer, EventContext

from academy_progress.enrolments.service import enrol_after_purchase, revoke_after_refund

# A purchase and its refund on one queue: one learner's events mostly arrive in order; the service
# does not rely on it (see enrolments.service).
enrolments = Consumer("enrolments")


@enrolments.on(CoursePurchasedV1)
async def enrol_buyer(ctx: EventContext, event: CoursePurchasedV1) -> None:
    """A bought course opens to its buyer once: the inbox stops a redelivery, UNIQUE(user, course) a re-sale,
    and a purchase already refunded opens nothing."""
    await enrol_after_purchase(ctx.session, event)


@enrolments.on(PurchaseRefundedV1)
async def revoke_refunded_purchase(ctx: EventContext, event: PurchaseRefundedV1) -> None:
    """A refunded purchase takes back the enrolment it opened (only that one), and no later delivery reopens it."""
    await revoke_after_refund(ctx.session, event)
