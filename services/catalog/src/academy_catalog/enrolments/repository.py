from __future__ import annotations

from datetime import datetime

from academy_runtime.repository import Repository
from sqlalchemy import Boolean, func, literal_column
from sqlalchemy.dialects.postgresql import insert

from academy_catalog.models import CourseEnrolment


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
