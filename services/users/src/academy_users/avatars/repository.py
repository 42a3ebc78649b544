"""The queries of learners' avatars (table `users.user_avatars`)."""

from __future__ import annotations

from collections.abc import Sequence

from academy_runtime.repository import Repository
from sqlalchemy import delete, func, select, update

from academy_users.models import Base, User, UserAvatar


class AvatarRepository(Repository):
    async def learner_exists(self, user_id: int, *, lock: bool = False) -> bool:
        """Whether the learner exists; `lock` holds their row (FOR NO KEY UPDATE) until the transaction
        ends, so that one change of their avatars runs at a time. Reads the id only: nothing personal is
        decrypted."""
        stmt = select(User.id).where(User.id == user_id)
        if lock:
            stmt = stmt.with_for_update(key_share=True)  # FOR NO KEY UPDATE
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def next_id(self) -> int:
        """An id for an avatar not inserted yet (the table's sequence): its objects are stored under it
        before the row exists."""
        sequence = func.pg_get_serial_sequence(f"{Base.metadata.schema}.{UserAvatar.__tablename__}", "id")
        return int((await self.session.execute(select(func.nextval(sequence)))).scalar_one())

    async def history(self, user_id: int) -> Sequence[UserAvatar]:
        """Every avatar of the learner, newest first."""
        stmt = (
            select(UserAvatar)
            .where(UserAvatar.user_id == user_id)
            .order_by(UserAvatar.created_at.desc(), UserAvatar.id.desc())
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def of_learner(self, user_id: int, avatar_id: int, *, for_update: bool = False) -> UserAvatar | None:
        """The avatar `avatar_id` if it is one of the learner's (another learner's id: None)."""
        stmt = select(UserAvatar).where(UserAvatar.id == avatar_id, UserAvatar.user_id == user_id)
        return await self.one_or_none(stmt, for_update=for_update)

    async def current(self, user_id: int, *, for_update: bool = False) -> UserAvatar | None:
        """The learner's current avatar, if any (the partial unique index allows one)."""
        stmt = select(UserAvatar).where(UserAvatar.user_id == user_id, UserAvatar.is_current)
        return await self.one_or_none(stmt, for_update=for_update)

    async def clear_current(self, user_id: int) -> None:
        """No avatar of the learner is current any more (before another becomes it: the unique index)."""
        await self.session.execute(
            update(UserAvatar)
            .where(UserAvatar.user_id == user_id, UserAvatar.is_current)
            .values(is_current=False, updated_at=func.now())
            .execution_options(synchronize_session="fetch")
        )

    async def delete_all(self, user_id: int) -> Sequence[int]:
        """Delete every avatar row of the learner; the ids that were deleted."""
        result = await self.session.execute(
            delete(UserAvatar).where(UserAvatar.user_id == user_id).returning(UserAvatar.id)
        )
        return result.scalars().all()
