from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from academy_runtime.repository import Repository
from sqlalchemy import RowMapping, func, select
from sqlalchemy.dialects.postgresql import insert

from academy_progress.models import CourseProjection, LearnerPreferences, UserCourse, UserTranscript


class TranscriptRepository(Repository):
    async def completed_courses(self, user_id: int) -> Sequence[RowMapping]:
        """The learner's completed enrolments with what the catalog said of each course, oldest first."""
        uc, cp = UserCourse, CourseProjection
        stmt = (
            select(
                uc.course_id,
                cp.title,
                cp.category,
                uc.purchased_at.label("enrolled_at"),
                uc.completed_at,
                cp.duration_hours,
            )
            .select_from(uc)
            .outerjoin(cp, cp.course_id == uc.course_id)
            .where(uc.user_id == user_id, uc.is_completed.is_(True))
            .order_by(uc.completed_at, uc.course_id)
        )
        return (await self.session.execute(stmt)).mappings().all()

    async def time_zone(self, user_id: int) -> str | None:
        tz: str | None = await self.session.scalar(
            select(LearnerPreferences.timezone).where(LearnerPreferences.user_id == user_id)
        )
        return tz

    async def get(self, user_id: int) -> UserTranscript | None:
        return await self.session.scalar(select(UserTranscript).where(UserTranscript.user_id == user_id))

    async def save(self, user_id: int, *, object_key: str, data: dict[str, Any]) -> None:
        stmt = insert(UserTranscript).values(user_id=user_id, object_key=object_key, transcript_data=data)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[UserTranscript.user_id],
                set_={"object_key": object_key, "transcript_data": data, "updated_at": func.now()},
            )
        )
