from __future__ import annotations

from academy_runtime.locks import AdvisoryLock
from academy_runtime.repository import Repository
from academy_runtime.tombstones import TombstoneRepository
from sqlalchemy import delete

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


class ErasedLearnerRepository(TombstoneRepository):
    """The tombstones of erased learners (`erased_learners`: ids only): `remember`, `is_erased`,
    `erased_among` (a whole leaderboard's ids in one query)."""

    model = ErasedLearner


class LearnerOutboxRepository(Repository):
    """The service's outbox rows about one learner: every event gamification publishes (`points_awarded`,
    `achievement_unlocked`) is about one learner, and its partition key is their user id."""

    async def delete_about(self, user_id: int) -> int:
        """Delete every outbox row about the learner, published (kept for the retention window) or still
        waiting for the relay; how many went."""
        outbox = messaging.outbox
        result = await self.session.execute(delete(outbox).where(outbox.c.partition_key == str(user_id)))
        return int(getattr(result, "rowcount", 0) or 0)
