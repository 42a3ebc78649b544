from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from academy_runtime.projections import upsert_if_newer
from academy_runtime.repository import Repository
from sqlalchemy import select

from academy_billing.models import CoursePrice


class CoursePriceRepository(Repository):
    async def by_course(self, course_id: int) -> CoursePrice | None:
        result = await self.session.execute(
            select(CoursePrice).where(CoursePrice.course_id == course_id).execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def put_if_newer(
        self,
        *,
        course_id: int,
        price: Decimal | None,
        currency: str | None,
        stars_price: int | None,
        title: str | None,
        is_active: bool,
        changed_at: datetime,
    ) -> bool:
        """Store the course's state as of `changed_at` unless a newer state is stored; True if stored.

        `changed_at` is the catalog's time of the change, which the catalog makes strictly increasing per
        course: it orders the facts about one course like a revision."""
        values = {
            "course_id": course_id,
            "price": price,
            "currency": currency,
            "stars_price": stars_price,
            "title": title,
            "is_active": is_active,
            "updated_at": changed_at,
        }
        return await upsert_if_newer(self.session, CoursePrice, values, key=["course_id"], version="updated_at")

    async def archive_if_newer(self, *, course_id: int, archived_at: datetime) -> bool:
        """Take the course off sale as of `archived_at`; a course not seen yet gets a tombstone row.

        An archive wins a tie with an update of the same instant: selling a withdrawn course is worse
        than briefly not selling a live one.
        """
        values = {"course_id": course_id, "is_active": False, "updated_at": archived_at}
        return await upsert_if_newer(
            self.session,
            CoursePrice,
            values,
            key=["course_id"],
            version="updated_at",
            update=["is_active"],
            or_equal=True,
        )
