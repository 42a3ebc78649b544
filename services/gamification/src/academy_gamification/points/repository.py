from __future__ import annotations

from academy_runtime.repository import Repository
from sqlalchemy import String, cast, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert

from academy_gamification.models import LearnerCategoryScore, LearnerScore, Level, PointsLedgerEntry, Streak


class PointsRepository(Repository):
    async def add_entry(
        self,
        *,
        user_id: int,
        points: int,
        reason: str,
        award_key: str,
        category: str | None,
        source_event_id: str | None,
    ) -> int | None:
        """Insert a ledger row; None when this award key was already granted."""
        result = await self.session.execute(
            insert(PointsLedgerEntry)
            .values(
                user_id=user_id,
                points=points,
                reason=reason,
                award_key=award_key,
                category=category,
                source_event_id=source_event_id,
            )
            .on_conflict_do_nothing(index_elements=[PointsLedgerEntry.award_key])
            .returning(PointsLedgerEntry.id)
        )
        return result.scalar_one_or_none()

    async def ledger_total(self, user_id: int, *, category: str | None = None) -> int:
        stmt = select(func.coalesce(func.sum(PointsLedgerEntry.points), 0)).where(PointsLedgerEntry.user_id == user_id)
        if category is not None:
            stmt = stmt.where(PointsLedgerEntry.category == category)
        return int(await self.session.scalar(stmt) or 0)

    async def save_total(self, user_id: int, *, total_points: int, level: int) -> None:
        await self.session.execute(
            insert(LearnerScore)
            .values(user_id=user_id, total_points=total_points, level=level)
            .on_conflict_do_update(
                index_elements=[LearnerScore.user_id],
                set_={"total_points": total_points, "level": level, "updated_at": func.now()},
            )
        )

    async def save_counts(self, user_id: int, *, lessons_completed: int, courses_completed: int) -> None:
        values = {"lessons_completed": lessons_completed, "courses_completed": courses_completed}
        await self.session.execute(
            insert(LearnerScore)
            .values(user_id=user_id, **values)
            .on_conflict_do_update(index_elements=[LearnerScore.user_id], set_={**values, "updated_at": func.now()})
        )

    async def save_category_total(self, user_id: int, category: str, points: int) -> None:
        await self.session.execute(
            insert(LearnerCategoryScore)
            .values(user_id=user_id, category=category, points=points)
            .on_conflict_do_update(
                index_elements=[LearnerCategoryScore.user_id, LearnerCategoryScore.category], set_={"points": points}
            )
        )

    async def levels(self) -> list[Level]:
        return list((await self.session.execute(select(Level).order_by(Level.min_points))).scalars())

    async def level_for(self, total_points: int) -> int:
        level = await self.session.scalar(select(func.max(Level.level)).where(Level.min_points <= total_points))
        return level or 1

    async def score(self, user_id: int) -> LearnerScore | None:
        return await self.session.get(LearnerScore, user_id)

    async def last_event_id(self, user_id: int) -> str | None:
        """The v2 event last published about the learner (what the next one follows), if any."""
        last: str | None = await self.session.scalar(
            select(LearnerScore.last_event_id).where(LearnerScore.user_id == user_id)
        )
        return last

    async def save_last_event_id(self, user_id: int, event_id: str) -> None:
        await self.session.execute(
            insert(LearnerScore)
            .values(user_id=user_id, last_event_id=event_id)
            .on_conflict_do_update(index_elements=[LearnerScore.user_id], set_={"last_event_id": event_id})
        )

    async def streak(self, user_id: int) -> Streak | None:
        return await self.session.get(Streak, user_id)

    async def detach_ledger(self, user_id: int) -> int:
        """Keep the learner's ledger rows (their points stay in the platform's totals) but make them nobody's:
        `user_id` null, `award_key` `erased:<row id>` (the key named the learner, and stays unique), no
        `source_event_id` (an id other services' records could link back to the learner), `created_at`
        cut to its UTC day (an exact instant could be matched with another record of the same moment).
        How many rows were detached."""
        result = await self.session.execute(
            update(PointsLedgerEntry)
            .where(PointsLedgerEntry.user_id == user_id)
            .values(
                user_id=None,
                award_key=literal("erased:") + cast(PointsLedgerEntry.id, String),
                source_event_id=None,
                created_at=func.date_trunc("day", PointsLedgerEntry.created_at, "UTC"),
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def delete_scores(self, user_id: int) -> None:
        """Delete the learner's totals (points, level, counts, chain of events) and category scores."""
        await self.session.execute(delete(LearnerScore).where(LearnerScore.user_id == user_id))
        await self.session.execute(delete(LearnerCategoryScore).where(LearnerCategoryScore.user_id == user_id))
