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

from academy_runtime import learner_registry
from academy_runtime.errors import LearnerNotFoundError
from sqlalchemy.ext.asyncio import AsyncSession

from academy_progress import metrics
from academy_progress.models import KnownLearner


async def record_registered(session: AsyncSession, *, user_id: int, registered_at: datetime) -> None:
    """The users service registered the learner (`academy_runtime.learner_registry`)."""
    await learner_registry.record_registered(session, KnownLearner, user_id=user_id, registered_at=registered_at)


async def require_learner(session: AsyncSession, user_id: int) -> None:
    """404 `learner_not_found` unless the users service announced the learner and did not erase them."""
    try:
        state = await learner_registry.learner_state(session, KnownLearner, user_id)
    except LearnerNotFoundError:
        metrics.LEARNER_CHECKS.labels("erased").inc()
        raise
    if state is learner_registry.LearnerState.UNKNOWN:
        metrics.LEARNER_CHECKS.labels("unknown").inc()
        raise LearnerNotFoundError(user_id)
    metrics.LEARNER_CHECKS.labels("known").inc()
