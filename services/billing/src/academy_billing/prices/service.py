"""The local projection of catalog prices: what billing charges for a course, fed by catalog events.

Order-independent: each row remembers the catalog time of the change it reflects, and an event older
than that is ignored, so a late or redelivered event never overwrites a newer price.
"""

from __future__ import annotations

import logging
from datetime import datetime

from academy_contracts.catalog import CourseSnapshot
from academy_contracts.primitives import TELEGRAM_STARS
from sqlalchemy.ext.asyncio import AsyncSession

from academy_billing.models import CURRENCIES
from academy_billing.prices.repository import CoursePriceRepository

log = logging.getLogger(__name__)


async def apply_course_snapshot(session: AsyncSession, course: CourseSnapshot, *, changed_at: datetime) -> bool:
    """Record the course's price as of `changed_at`; False when a newer state is already stored."""
    repo = CoursePriceRepository(session)
    currency = course.price.currency
    if currency not in CURRENCIES:
        # Billing cannot take this currency: keep the course off sale rather than sell at a stale price.
        log.warning(
            "course priced in a currency billing does not take; not for sale",
            extra={"course_id": course.course_id, "currency": currency},
        )
        off_sale: bool = await repo.put_if_newer(
            course_id=course.course_id,
            price=None,
            currency=None,
            stars_price=None,
            title=None,
            is_active=False,
            changed_at=changed_at,
        )
        return off_sale
    amount = course.price.amount
    # The catalog prices courses in one currency; a Stars price is known only when that is XTR.
    stars_price = int(amount) if currency == TELEGRAM_STARS and amount > 0 else None
    stored: bool = await repo.put_if_newer(
        course_id=course.course_id,
        price=amount,
        currency=currency,
        stars_price=stars_price,
        title=course.title,
        is_active=course.is_active,
        changed_at=changed_at,
    )
    return stored


async def archive_course(session: AsyncSession, course_id: int, *, archived_at: datetime) -> bool:
    archived: bool = await CoursePriceRepository(session).archive_if_newer(course_id=course_id, archived_at=archived_at)
    return archived
