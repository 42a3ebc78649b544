"""Enrolments for the course of the month, and what an erased learner leaves of them.

The catalog's one record naming learners is `course_enrolments` (by user id, from progress's events);
nothing else it stores (courses, communities, the audit log of operators' changes, its Redis cache of
learner queries) is about a learner. An erasure keeps their enrolments in the counts, detached from them,
and remembers the id so that an enrolment announced late is not recorded again.
"""

from __future__ import annotations

from datetime import datetime

from academy_runtime.locks import hold_named_lock
from sqlalchemy.ext.asyncio import AsyncSession

from academy_catalog.enrolments.repository import EnrolmentRepository, ErasedLearnerRepository


async def _hold_learner(session: AsyncSession, user_id: int) -> None:
    # An enrolment and the learner's erasure take turns: an enrolment checked against the tombstone
    # before the erasure commits must not add a row the erasure's detach did not see.
    await hold_named_lock(session, f"catalog:learner:{user_id}")


async def record_enrolment(session: AsyncSession, *, user_id: int, course_id: int, enrolled_at: datetime) -> bool:
    """Count the learner's enrolment in the course once (the earliest time wins); False when it was known
    already or the learner was erased."""
    await _hold_learner(session, user_id)
    if await ErasedLearnerRepository(session).is_erased(user_id):
        return False
    return await EnrolmentRepository(session).record(user_id=user_id, course_id=course_id, enrolled_at=enrolled_at)


async def erase_learner(session: AsyncSession, *, user_id: int, time_zone: str) -> int:
    """`users.user_erased.v2`: remember the id (nothing else) and detach the learner's enrolments
    (`EnrolmentRepository.detach`: they still count for the course of the month, in `time_zone`'s
    months). How many enrolments were detached; 0 when told again. 152-ФЗ art. 21 §5."""
    await _hold_learner(session, user_id)
    await ErasedLearnerRepository(session).remember(user_id)
    return await EnrolmentRepository(session).detach(user_id, time_zone=time_zone)
