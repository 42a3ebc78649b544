"""Whether a learner exists, before progress writes anything keyed by their id.

Progress keeps `progress.learners`, a projection of the users service's events (`learners.consumers`):
any registration it has seen (`users.user_registered.v3`, or v1/v2 still queued from before the users
service's issue-10 release), and `users.user_erased` (v2, or v1), upon which it also forgets the learner
(`learners.erasure`). A write for a learner id (an
enrolment, a lesson completed, watch time, preferences, a transcript) goes ahead only for a learner in
it and not erased; otherwise it is refused with 404 `learner_not_found`, so no progress lands on an id a
later registration would take. Nothing is written before the check, and the check share-locks the
learner's row until the write commits: an erasure arriving meanwhile waits for the write, then deletes
what it wrote (`academy_runtime.learner_registry`).

The edge, decided: a learner whose registration event has not reached progress yet is refused too.
Progress does not ask the users service whether a learner exists (its users client fetches the name and avatar
printed on a transcript, nothing else), nor any other service on a learner's request; the
gateway, its only caller, registers the learner before it shows them anything to enrol in, and the event
takes milliseconds through the outbox relay. The refusal is safe to retry after a moment. Reads do not
check: an unknown learner has no courses, no progress and the default preferences.
"""

from __future__ import annotations

from datetime import datetime

from academy_runtime import learner_registry
from academy_runtime.errors import LearnerNotFoundError
from academy_runtime.locks import AdvisoryLock
from sqlalchemy.ext.asyncio import AsyncSession

from academy_progress import metrics
from academy_progress.models import KnownLearner

# The space is the one the purchase enrolments' lock had (this lock's own across the platform, and
# unchanged, so that releases side by side during a rollout still exclude each other).
LEARNER_EVENTS_LOCK = AdvisoryLock(space=0x5052)
"""One learner's events at a time: a purchase and its refund (`enrolments`), a time zone, a reminder and
an erasure of the same learner take turns, so none of them misses what another is committing (a
registry check alone would not serialise a write for a learner whose registration has not arrived)."""


async def hold_learner(session: AsyncSession, user_id: int) -> None:
    """Take `LEARNER_EVENTS_LOCK` for `user_id` until the transaction ends. Take it before reading the
    registry (`is_erased`): an erasure holds the learner's registry row and then waits for this lock."""
    await LEARNER_EVENTS_LOCK.hold(session, user_id)


async def is_erased(session: AsyncSession, user_id: int) -> bool:
    """Whether the users service erased the learner (an unknown one is not): event handlers and jobs skip
    an erased learner instead of writing for them. Call it holding `hold_learner`."""
    return await learner_registry.is_erased(session, KnownLearner, user_id)


async def record_registered(session: AsyncSession, *, user_id: int, registered_at: datetime) -> None:
    """The users service registered the learner (`academy_runtime.learner_registry`)."""
    await learner_registry.record_registered(session, KnownLearner, user_id=user_id, registered_at=registered_at)


async def require_learner(session: AsyncSession, user_id: int) -> None:
    """404 `learner_not_found` unless the users service announced the learner and did not erase them; the
    learner's registry row stays share-locked until the transaction ends (an erasure waits for the write)."""
    try:
        state = await learner_registry.learner_state(session, KnownLearner, user_id, lock=True)
    except LearnerNotFoundError:
        metrics.LEARNER_CHECKS.labels("erased").inc()
        raise
    if state is learner_registry.LearnerState.UNKNOWN:
        metrics.LEARNER_CHECKS.labels("unknown").inc()
        raise LearnerNotFoundError(user_id)
    metrics.LEARNER_CHECKS.labels("known").inc()
