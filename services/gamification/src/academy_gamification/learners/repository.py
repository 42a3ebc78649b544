from __future__ import annotations

from academy_runtime.locks import AdvisoryLock
from academy_runtime.repository import Repository

from academy_gamification.models import LearnerProfile

LEARNER_LOCK = AdvisoryLock(space=0x6A4D)
"""One learner's facts are applied one transaction at a time (`await LEARNER_LOCK.hold(session, user_id)`).

Points totals, counts, streaks and achievements are derived from the projections inside the handler's
transaction; two transactions of the same learner side by side (a lesson and a course event on two
queues, or two deliveries in one prefetch window) would each miss the other's uncommitted rows.
"""


class LearnerProfileRepository(Repository):
    async def get(self, user_id: int) -> LearnerProfile | None:
        return await self.session.get(LearnerProfile, user_id)
