from __future__ import annotations

from collections.abc import Collection

from academy_runtime.locks import AdvisoryLock
from academy_runtime.repository import Repository
from sqlalchemy import Integer, any_, bindparam, delete, select
from sqlalchemy.dialects.postgresql import ARRAY, insert

from academy_gamification.models import ErasedLearner, LearnerProfile, messaging

LEARNER_LOCK = AdvisoryLock(space=0x6A4D)
"""One learner's facts are applied one transaction at a time (`await LEARNER_LOCK.hold(session, user_id)`).

Points totals, counts, streaks and achievements are derived from the projections inside the handler's
transaction; two transactions of the same learner side by side (a lesson and a course event on two
queues, or two deliveries in one prefetch window) would each miss the other's uncommitted rows. The
erasure takes it too, so a fact is applied either wholly before it (and erased with the rest) or after
it (and refused by the tombstone).
"""


class LearnerProfileRepository(Repository):
    async def get(self, user_id: int) -> LearnerProfile | None:
        return await self.session.get(LearnerProfile, user_id)

    async def delete(self, user_id: int) -> None:
        """Delete the learner's profile row (display name, city, anonymity choice), if there is one."""
        await self.session.execute(delete(LearnerProfile).where(LearnerProfile.user_id == user_id))


class ErasedLearnerRepository(Repository):
    """The tombstones of erased learners (`erased_learners`: ids only)."""

    async def remember(self, user_id: int) -> None:
        """Record that the learner was erased (again is a no-op)."""
        await self.session.execute(insert(ErasedLearner).values(user_id=user_id).on_conflict_do_nothing())

    async def is_erased(self, user_id: int) -> bool:
        found = await self.session.scalar(select(ErasedLearner.user_id).where(ErasedLearner.user_id == user_id))
        return found is not None

    async def erased_among(self, user_ids: Collection[int]) -> set[int]:
        """Which of `user_ids` were erased: one query with one array parameter, however many ids (a whole
        leaderboard's, after a rebuild)."""
        if not user_ids:
            return set()
        ids = bindparam("user_ids", list(user_ids), type_=ARRAY(Integer))
        stmt = select(ErasedLearner.user_id).where(ErasedLearner.user_id == any_(ids))
        return set((await self.session.scalars(stmt)).all())


class LearnerOutboxRepository(Repository):
    """The service's outbox rows about one learner: every event gamification publishes (`points_awarded`,
    `achievement_unlocked`) is about one learner, and its partition key is their user id."""

    async def delete_about(self, user_id: int) -> int:
        """Delete every outbox row about the learner, published (kept for the retention window) or still
        waiting for the relay; how many went."""
        outbox = messaging.outbox
        result = await self.session.execute(delete(outbox).where(outbox.c.partition_key == str(user_id)))
        return int(getattr(result, "rowcount", 0) or 0)
