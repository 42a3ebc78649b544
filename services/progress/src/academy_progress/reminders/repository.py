from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from academy_runtime.projections import upsert_if_newer
from academy_runtime.repository import Repository
from sqlalchemy import RowMapping, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from academy_progress.models import InactivityReminder, LearnerPreferences
from academy_progress.reports.repository import inactive_learners_query


class ReminderRepository(Repository):
    async def get_preferences(self, user_id: int) -> LearnerPreferences | None:
        return await self.session.get(LearnerPreferences, user_id)

    async def save_preferences(self, user_id: int, changes: dict[str, Any]) -> LearnerPreferences:
        """Create or change the learner's preferences (only the fields in `changes`)."""
        stmt = pg_insert(LearnerPreferences).values(user_id=user_id, **changes)
        stmt = (
            stmt.on_conflict_do_update(
                index_elements=[LearnerPreferences.user_id], set_={**changes, "updated_at": func.now()}
            )
            if changes
            else stmt.on_conflict_do_nothing()
        )
        await self.session.execute(stmt)
        row = await self.session.execute(
            select(LearnerPreferences)
            .where(LearnerPreferences.user_id == user_id)
            .execution_options(populate_existing=True)
        )
        return row.scalar_one()

    async def apply_time_zone(self, user_id: int, *, time_zone: str, revision: int) -> bool:
        """Take the learner's zone of the users service's `revision`, unless a newer (or the same) revision
        is held; a learner not seen yet gets a row with the default opt-out. True when applied."""
        return await upsert_if_newer(
            self.session,
            LearnerPreferences,
            {"user_id": user_id, "timezone": time_zone, "profile_revision": revision},
            key=["user_id"],
            version="profile_revision",
            update=["timezone"],
            set_={"updated_at": func.now()},
        )

    async def reminder_candidates(
        self, *, since: datetime, period_start: date, after_user_id: int, limit: int
    ) -> Sequence[RowMapping]:
        """Inactive learners (seed query 3) quiet since before `since`, not opted out, not reminded this period.

        Quiet means neither a completed lesson nor a new enrolment since `since`: a learner who enrolled
        yesterday has not had the time to be inactive. Each with their time zone (null: the default).
        """
        inactive = inactive_learners_query(since).subquery()
        prefs, reminders = LearnerPreferences, InactivityReminder
        reminded = exists().where(reminders.user_id == inactive.c.user_id, reminders.period_start == period_start)
        stmt = (
            select(inactive.c.user_id, inactive.c.last_activity_at, inactive.c.last_enrolled_at, prefs.timezone)
            .select_from(inactive)
            .outerjoin(prefs, prefs.user_id == inactive.c.user_id)
            .where(
                inactive.c.user_id > after_user_id,
                # greatest() skips nulls: a learner who never completed a lesson is quiet since enrolling.
                func.greatest(inactive.c.last_activity_at, inactive.c.last_enrolled_at) < since,
                or_(prefs.reminders_opt_out.is_(None), prefs.reminders_opt_out.is_(False)),
                ~reminded,
            )
            .order_by(inactive.c.user_id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).mappings().all()

    async def record_reminder(self, *, user_id: int, period_start: date, sent_at: datetime) -> bool:
        """Claim the learner's reminder of the period; False when it was claimed already (by anyone)."""
        stmt = (
            pg_insert(InactivityReminder)
            .values(user_id=user_id, period_start=period_start, sent_at=sent_at)
            .on_conflict_do_nothing()
            .returning(InactivityReminder.user_id)
        )
        return (await self.session.execute(stmt)).first() is not None
