"""Enrolments: access to a course, from a free enrolment, a purchase or an operator's grant.

A refunded purchase takes back the access it opened (`purchase_refunded`), in whatever order the
purchase and its refund arrive: every purchase progress hears of is kept in `course_purchases`
(bought, refunded, or both), and a learner's purchase events are handled one at a time (an advisory
lock per learner), so
- a refund removes the enrolment whose `purchase_id` is the refunded purchase, and nothing else (a
  free or operator enrolment, or one opened by another purchase, stays); the learner's lesson
  progress stays too, so buying again shows it again;
- a purchase whose refund arrived first opens nothing;
- when the refunded purchase's enrolment is the one another standing purchase of the course
  found already there (a re-purchase delivered before the old purchase's refund), that purchase
  carries the enrolment on and the learner keeps access.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Literal, cast

from academy_contracts.billing import CoursePurchasedV1, PurchaseRefundedV1
from academy_contracts.progress import CourseEnrolledV1, EnrollmentSource
from academy_runtime.errors import ConflictError
from sqlalchemy.ext.asyncio import AsyncSession

from academy_progress import metrics
from academy_progress.enrolments.repository import EnrolmentRepository
from academy_progress.enrolments.schemas import EnrolmentOut, EnrolmentResult, LearnerCourse
from academy_progress.errors import (
    CourseArchivedError,
    CourseNotFoundError,
    CourseNotOpenError,
    PaymentRequiredError,
)
from academy_progress.learners.service import is_erased
from academy_progress.models import UserCourse, messaging
from academy_progress.projections.repository import CourseProjectionRepository

log = logging.getLogger(__name__)

RefundOutcome = Literal["revoked", "kept", "no_enrolment"]

# course_enrolled's id is derived from the enrolment, so one enrolment can only ever announce itself once.
_EVENT_NAMESPACE = uuid.UUID("0d4f8c8e-7f5b-4d8e-b0a4-3a1f6f2c9e21")


async def enrol_in_free_course(session: AsyncSession, *, user_id: int, course_id: int) -> EnrolmentResult:
    """Enrol the learner on a free, open course. Enrolling again returns the existing enrolment."""
    repo = EnrolmentRepository(session)
    existing = await repo.get(user_id=user_id, course_id=course_id)
    if existing is not None:
        return EnrolmentResult(enrolment=EnrolmentOut.model_validate(existing), created=False)
    course = await CourseProjectionRepository(session).get(course_id)
    if course is None:
        raise CourseNotFoundError(f"course {course_id} not found")
    if course.archived_at is not None:
        raise CourseArchivedError(f"course {course_id} is archived and open to no new learner")
    if not course.is_active:
        raise CourseNotOpenError(f"course {course_id} is not open for enrolment")
    if course.price is not None and course.price > 0:
        raise PaymentRequiredError(
            f"course {course_id} costs {course.price} {course.currency}; buy it to get access",
            details={"price": str(course.price), "currency": course.currency},
        )
    return await _enrol(session, user_id=user_id, course_id=course_id, source="free")


async def enrol_after_purchase(session: AsyncSession, purchase: CoursePurchasedV1) -> EnrolmentResult | None:
    """Enrol the buyer. Whatever the projection says: billing sold the course, the learner gets it.

    None when the purchase was refunded before this event arrived, or the buyer was erased (their
    purchase reached progress after the erasure: nothing is written for an erased learner).
    """
    repo = EnrolmentRepository(session)
    await repo.lock_learner_purchases(purchase.user_id)
    if await is_erased(session, purchase.user_id):
        log.info("purchase of an erased learner: not enrolled", extra={"purchase_id": purchase.purchase_id})
        metrics.ERASED_LEARNER_EVENTS.labels(purchase.event_type).inc()
        return None
    recorded = await repo.record_purchase(
        purchase_id=purchase.purchase_id,
        user_id=purchase.user_id,
        course_id=purchase.course_id,
        purchased_at=purchase.purchased_at,
    )
    if recorded.revoked_at is not None:
        log.info(
            "purchase arrived after its refund: not enrolled",
            extra={"purchase_id": purchase.purchase_id, "user_id": purchase.user_id, "course_id": purchase.course_id},
        )
        metrics.PURCHASE_REFUNDS.labels("late_purchase").inc()
        return None
    return await _enrol(
        session,
        user_id=purchase.user_id,
        course_id=purchase.course_id,
        source="purchase",
        purchase_id=purchase.purchase_id,
        enrolled_at=purchase.purchased_at,
    )


async def revoke_after_refund(session: AsyncSession, refund: PurchaseRefundedV1) -> RefundOutcome:
    """Take back the access the refunded purchase opened, and remember the refund for a late purchase event.

    Only the enrolment carrying this purchase is touched; when another standing purchase of the
    course is known, it carries the enrolment on instead (`kept`). Lesson progress is never removed.
    An erased learner's refund finds nothing and records nothing (`no_enrolment`).
    """
    repo = EnrolmentRepository(session)
    await repo.lock_learner_purchases(refund.user_id)
    if await is_erased(session, refund.user_id):
        metrics.ERASED_LEARNER_EVENTS.labels(refund.event_type).inc()
        return "no_enrolment"
    await repo.record_revocation(
        purchase_id=refund.purchase_id,
        user_id=refund.user_id,
        course_id=refund.course_id,
        revoked_at=refund.refunded_at,
    )
    where = {"user_id": refund.user_id, "course_id": refund.course_id}
    outcome: RefundOutcome
    standing = await repo.standing_purchase(**where)
    if standing is not None:
        moved = await repo.move_purchase_enrolment(
            **where, from_purchase_id=refund.purchase_id, to_purchase_id=standing.purchase_id
        )
        outcome = "kept" if moved is not None else "no_enrolment"
    else:
        deleted = await repo.delete_purchase_enrolment(**where, purchase_id=refund.purchase_id)
        outcome = "revoked" if deleted is not None else "no_enrolment"
    log.info(
        "purchase refunded",
        extra={"purchase_id": refund.purchase_id, **where, "outcome": outcome, "reason": refund.reason},
    )
    metrics.PURCHASE_REFUNDS.labels(outcome).inc()
    return outcome


async def _enrol(
    session: AsyncSession,
    *,
    user_id: int,
    course_id: int,
    source: str,
    purchase_id: int | None = None,
    enrolled_at: datetime | None = None,
) -> EnrolmentResult:
    repo = EnrolmentRepository(session)
    created = await repo.insert_if_absent(
        user_id=user_id,
        course_id=course_id,
        source=source,
        purchase_id=purchase_id,
        enrolled_at=enrolled_at,
    )
    if created is None:
        existing = await repo.get(user_id=user_id, course_id=course_id)
        if existing is None:  # deleted between the two statements (erasure): safe to retry
            raise ConflictError("enrolment changed concurrently; retry")
        return EnrolmentResult(enrolment=EnrolmentOut.model_validate(existing), created=False)
    await messaging.publish(
        session,
        _enrolled_event(created),
        event_id=uuid.uuid5(_EVENT_NAMESPACE, f"progress:course_enrolled:{created.id}"),
        occurred_at=created.purchased_at,
    )
    metrics.ENROLMENTS.labels(source).inc()
    return EnrolmentResult(enrolment=EnrolmentOut.model_validate(created), created=True)


def _enrolled_event(enrolment: UserCourse) -> CourseEnrolledV1:
    return CourseEnrolledV1(
        user_id=enrolment.user_id,
        course_id=enrolment.course_id,
        enrollment_id=enrolment.id,
        source=cast("EnrollmentSource", enrolment.source),  # the table's CHECK allows these values only
        purchase_id=enrolment.purchase_id,
        enrolled_at=enrolment.purchased_at,
    )


async def learner_courses(session: AsyncSession, user_id: int) -> list[LearnerCourse]:
    rows = await EnrolmentRepository(session).courses_with_progress(user_id)
    return [LearnerCourse.model_validate(row) for row in rows]
