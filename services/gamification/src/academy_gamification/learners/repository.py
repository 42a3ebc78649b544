from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from academy_gamification.models import LearnerProfile


class LearnerProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> LearnerProfile | None:
        return await self.session.get(LearnerProfile, user_id)

    async def add(self, profile: LearnerProfile) -> None:
        self.session.add(profile)
        await self.session.flush()
