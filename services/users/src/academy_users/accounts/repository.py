from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_users.models import AuditLog, User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_if_absent(self, *, telegram_id: int, username: str | None, locale: str) -> User | None:
        """Insert a learner; None when one with this telegram_id exists (concurrent calls included)."""
        result = await self.session.execute(
            insert(User)
            .values(telegram_id=telegram_id, username=username, locale=locale)
            .on_conflict_do_nothing(index_elements=[User.telegram_id])
            .returning(User)
        )
        return result.scalar_one_or_none()

    async def by_telegram_id(self, telegram_id: int) -> User | None:
        return (await self.session.execute(select(User).where(User.telegram_id == telegram_id))).scalar_one_or_none()

    async def by_id(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    def audit(self, *, user_id: int | None, actor: str, action: str, details: dict[str, object]) -> None:
        self.session.add(AuditLog(user_id=user_id, actor=actor, action=action, details=details))
