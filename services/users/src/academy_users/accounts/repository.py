from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from academy_runtime.repository import Repository
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from academy_users.models import AuditLog, User


class UserRepository(Repository):
    async def insert_if_absent(
        self,
        *,
        telegram_id: int,
        username: str | None,
        locale: str,
        full_name: str,
        phone: str,
        city: str,
        time_zone: str,
        time_zone_source: str,
        consent_version: str,
        consent_at: datetime,
    ) -> User | None:
        """Insert a learner who consented; None when one with this telegram_id exists (concurrent calls
        included)."""
        result = await self.session.execute(
            insert(User)
            .values(
                telegram_id=telegram_id,
                username=username,
                locale=locale,
                full_name=full_name,
                phone=phone,
                city=city,
                time_zone=time_zone,
                time_zone_source=time_zone_source,
                consent_personal_data=True,
                consent_version=consent_version,
                consent_at=consent_at,
            )
            .on_conflict_do_nothing(index_elements=[User.telegram_id])
            .returning(User)
        )
        return result.scalar_one_or_none()

    async def by_telegram_id(self, telegram_id: int, *, for_update: bool = False) -> User | None:
        return await self.one_or_none(select(User).where(User.telegram_id == telegram_id), for_update=for_update)

    async def by_id(self, user_id: int, *, for_update: bool = False) -> User | None:
        return await self.session.get(User, user_id, with_for_update=for_update)

    async def without_time_zone(self, *, after_id: int, limit: int) -> Sequence[User]:
        """Learners on the default zone who have a city, by id from `after_id` on, locked for the change."""
        stmt = (
            select(User)
            .where(User.time_zone_source == "default", User.city.is_not(None), User.id > after_id)
            .order_by(User.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(stmt)).scalars().all()

    def audit(self, *, user_id: int | None, actor: str, action: str, details: dict[str, object]) -> None:
        self.session.add(AuditLog(user_id=user_id, actor=actor, action=action, details=details))
