from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_billing.models import CoursePrice


class CoursePriceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
        """Store the course's state as of `changed_at` unless a newer state is stored; True if stored."""
        values = insert(CoursePrice).values(
            course_id=course_id,
            price=price,
            currency=currency,
            stars_price=stars_price,
            title=title,
            is_active=is_active,
            updated_at=changed_at,
        )
        excluded = values.excluded
        statement = values.on_conflict_do_update(
            index_elements=[CoursePrice.course_id],
            set_={
                "price": excluded.price,
                "currency": excluded.currency,
                "stars_price": excluded.stars_price,
                "title": excluded.title,
                "is_active": excluded.is_active,
                "updated_at": excluded.updated_at,
            },
            where=CoursePrice.updated_at < excluded.updated_at,
        ).returning(CoursePrice.course_id)
        return (await self.session.execute(statement)).first() is not None

    async def archive_if_newer(self, *, course_id: int, archived_at: datetime) -> bool:
        """Take the course off sale as of `archived_at`; a course not seen yet gets a tombstone row.

        An archive wins a tie with an update of the same instant: selling a withdrawn course is worse
        than briefly not selling a live one.
        """
        values = insert(CoursePrice).values(course_id=course_id, is_active=False, updated_at=archived_at)
        excluded = values.excluded
        statement = values.on_conflict_do_update(
            index_elements=[CoursePrice.course_id],
            set_={"is_active": False, "updated_at": excluded.updated_at},
            where=CoursePrice.updated_at <= excluded.updated_at,
        ).returning(CoursePrice.course_id)
        return (await self.session.execute(statement)).first() is not None
