from __future__ import annotations

from datetime import datetime

from academy_runtime.repository import Repository
from academy_runtime.tombstones import TombstoneRepository
from sqlalchemy import Boolean, func, literal_column, update
from sqlalchemy.dialects.postgresql import insert

from academy_catalog.models import CourseEnrolment, ErasedLearner


class EnrolmentRepository(Repository):
    async def record(self, *, user_id: int, course_id: int, enrolled_at: datetime) -> bool:
        """Remember an enrolment once; told again (late, or under another event id), keep the earliest time.

        True when the enrolment was new.
        """
        new = insert(CourseEnrolment).values(user_id=user_id, course_id=course_id, enrolled_at=enrolled_at)
        upsert = new.on_conflict_do_update(
            index_elements=[CourseEnrolment.user_id, CourseEnrolment.course_id],
            set_={"enrolled_at": func.least(CourseEnrolment.enrolled_at, new.excluded.enrolled_at)},
        )
        # xmax is 0 on a row this statement inserted, set when it updated an existing one.
        inserted = literal_column("(xmax = 0)", Boolean).label("inserted")
        row = (await self.session.execute(upsert.returning(inserted))).one()
        return bool(row.inserted)

    async def detach(self, user_id: int, *, time_zone: str) -> int:
        """Keep the learner's enrolments for the counts but make them nobody's: `user_id` null, `enrolled_at`
        cut to the start of its day in `time_zone` (the catalog's calendar: the month the row counts in
        stays; an exact instant could be matched with another record of the same moment). How many rows."""
        result = await self.session.execute(
            update(CourseEnrolment)
            .where(CourseEnrolment.user_id == user_id)
            .values(user_id=None, enrolled_at=func.date_trunc("day", CourseEnrolment.enrolled_at, time_zone))
        )
        return int(getattr(result, "rowcount", 0) or 0)


class ErasedLearnerRepository(TombstoneRepository):
    """The tombstones of erased learners (`erased_learners`: ids only): `remember`, `is_erased`."""

    model = ErasedLearner
