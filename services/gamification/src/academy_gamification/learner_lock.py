"""One learner's facts are applied one transaction at a time.

Points totals, counts, streaks and achievements are derived from the projections inside the
handler's transaction. Two transactions of the same learner running side by side (a lesson and a
course event on two queues, or two deliveries in one prefetch window) would each miss the other's
uncommitted rows; a transaction-scoped advisory lock per learner makes them take turns, and each
one then reads everything its predecessors committed (READ COMMITTED takes a snapshot per statement).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

# First key of the two-key advisory lock: keeps these locks apart from any other use of advisory locks.
_LEARNER_LOCK_SPACE = 0x6A4D


async def lock_learner(session: AsyncSession, user_id: int) -> None:
    """Wait for, then hold until the end of the transaction, the lock on this learner's derived state."""
    await session.execute(select(func.pg_advisory_xact_lock(_LEARNER_LOCK_SPACE, user_id)))
