from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gamification.models import LearnerScore, Level, PointsLedgerEntry


class PointsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_entry(
        self, *, user_id: int, points: int, reason: str, award_key: str, source_event_id: str | None
    ) -> int | None:
        """Insert a ledger row; None when this award key was already granted."""
        result = await self.session.execute(
            insert(PointsLedgerEntry)
            .values(user_id=user_id, points=points, reason=reason, award_key=award_key, source_event_id=source_event_id)
            .on_conflict_do_nothing(index_elements=[PointsLedgerEntry.award_key])
            .returning(PointsLedgerEntry.id)
        )
        return result.scalar_one_or_none()

    async def add_to_score(self, user_id: int, points: int) -> LearnerScore:
        """Atomically add points to the learner's total (row created on first award)."""
        result = await self.session.execute(
            insert(LearnerScore)
            .values(user_id=user_id, total_points=points)
            .on_conflict_do_update(
                index_elements=[LearnerScore.user_id],
                set_={"total_points": LearnerScore.total_points + points, "updated_at": func.now()},
            )
            .returning(LearnerScore)
        )
        return result.scalar_one()

    async def level_for(self, total_points: int) -> int:
        level = await self.session.scalar(select(func.max(Level.level)).where(Level.min_points <= total_points))
        return level or 1

    async def score(self, user_id: int) -> LearnerScore | None:
        return await self.session.get(LearnerScore, user_id)
