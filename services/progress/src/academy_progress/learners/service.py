"""Whether a learner exists, before progress writes anything keyed by their id.

Progress keeps `progress.learners`, a projection of the users service's events (`learners.consumers`):
any registration it has seen, `users.user_registered.v1` or `.v2` (v1 carries no time zone nor revision,
but it is a registration all the same), and `users.user_erased.v1`. A write for a learner id (an
enrolment, a lesson completed, watch time, preferences, a transcript) goes ahead only for a learner in
it and not erased; otherwise it is refused with 404 `learner_not_found`, so no progress lands on an id a
later registration would take. Nothing is written before the check.

The edge, decided: a learner whose registration event has not reached progress yet is refused too.
Progress holds no client of the users service and asks no other service on a learner's request; the
gateway, its only caller, registers the learner before it shows them anything to enrol in, and the event
takes milliseconds through the outbox relay. The refusal is safe to retry after a moment. Reads do not
check: an unknown learner has no courses, no progress and the default preferences.
"""

from __future__ import annotations

from datetime import datetime

from academy_runtime.errors import LearnerNotFoundError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_progress import metrics
from academy_progress.models import KnownLearner


async def record_registered(session: AsyncSession, *, user_id: int, registered_at: datetime) -> None:
    """The users service registered the learner. A second registration event (v1 and v2 of the same
    fact, a redelivery) changes nothing, and an erasure that overtook the registration stays."""
    stmt = insert(KnownLearner).values(user_id=user_id, registered_at=registered_at, source="event")
    await session.execute(stmt.on_conflict_do_nothing(index_elements=[KnownLearner.user_id]))
    metrics.LEARNER_EVENTS.labels("registered").inc()


async def record_erased(session: AsyncSession, *, user_id: int, erased_at: datetime) -> None:
    """The learner was erased: progress takes no new write for them (their records stay). Kept whatever
    the order the events arrive in; the row is never deleted, so the id can never be written to again."""
    stmt = insert(KnownLearner).values(user_id=user_id, registered_at=None, source="event", erased_at=erased_at)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[KnownLearner.user_id], set_={"erased_at": stmt.excluded.erased_at})
    )
    metrics.LEARNER_EVENTS.labels("erased").inc()


async def require_learner(session: AsyncSession, user_id: int) -> None:
    """404 `learner_not_found` unless the users service announced the learner and did not erase them."""
    learner = await session.scalar(select(KnownLearner).where(KnownLearner.user_id == user_id))
    if learner is None:
        metrics.LEARNER_CHECKS.labels("unknown").inc()
        raise LearnerNotFoundError(user_id)
    if learner.erased_at is not None:
        metrics.LEARNER_CHECKS.labels("erased").inc()
        raise LearnerNotFoundError(user_id, f"learner {user_id} was erased")
    metrics.LEARNER_CHECKS.labels("known").inc()
