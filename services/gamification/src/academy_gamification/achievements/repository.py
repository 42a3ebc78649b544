from __future__ import annotations

from datetime import datetime

from academy_runtime.db import table_of
from academy_runtime.repository import Repository
from sqlalchemy import Integer, bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert

from academy_gamification.models import Achievement, UserAchievement

_UNLOCKS = table_of(UserAchievement)

# Built once (asked on every completed lesson; see points.repository).
_EARNED = select(_UNLOCKS.c.achievement_id, _UNLOCKS.c.earned_at).where(
    _UNLOCKS.c.user_id == bindparam("user_id", type_=Integer)
)


class AchievementRepository(Repository):
    async def active_rules(self) -> list[Achievement]:
        stmt = select(Achievement).where(Achievement.is_active).order_by(Achievement.id)
        return list((await self.session.execute(stmt)).scalars())

    async def unlock(self, user_id: int, achievement_id: int) -> datetime | None:
        """Record the unlock; None when the learner already has this achievement."""
        result = await self.session.execute(
            insert(UserAchievement)
            .values(user_id=user_id, achievement_id=achievement_id)
            .on_conflict_do_nothing(index_elements=[UserAchievement.user_id, UserAchievement.achievement_id])
            .returning(UserAchievement.earned_at)
        )
        return result.scalar_one_or_none()

    async def earned(self, user_id: int) -> dict[int, datetime]:
        """achievement_id → when this learner earned it."""
        rows = await self.session.execute(_EARNED, {"user_id": user_id})
        return {row.achievement_id: row.earned_at for row in rows}

    async def delete_unlocks(self, user_id: int) -> None:
        """Delete the learner's unlocked achievements (the rules stay)."""
        await self.session.execute(delete(UserAchievement).where(UserAchievement.user_id == user_id))
