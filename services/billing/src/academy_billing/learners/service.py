"""Whether a learner exists, before billing writes anything keyed by their id.

Billing keeps `billing.learners`, a projection fed by `users.user_registered` (v3; v1 and v2 still
queued from before the users service's issue-10 release) and `users.user_erased` (v2; v1), upon which
it also pseudonymises the learner's records (`learners.erasure`). A write for a learner id goes ahead
only for a learner in it and not erased; otherwise it is refused with 404 `learner_not_found`, so money
never lands on an id that a later registration would take. The check share-locks the learner's row until
the write commits: an erasure arriving meanwhile waits for the write, then pseudonymises it too.

The edge: a learner who registered a moment ago, whose event has not reached billing yet (or who
registered before billing kept the projection). Billing then asks the users service once, with the
client it already holds for receipts, and records a learner it confirms (`source = 'users_service'`),
so a brand-new learner is never refused and is asked about at most once. An erased learner is refused
without asking. When the users service cannot be reached the write is refused with 503 (retry with the
same Idempotency-Key), never accepted blindly.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from academy_runtime import learner_registry
from academy_runtime.errors import LearnerNotFoundError, NotFoundError
from academy_runtime.resources import Resources
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from academy_billing import metrics
from academy_billing.models import KnownLearner

log = logging.getLogger(__name__)


async def record_registered(session: AsyncSession, *, user_id: int, registered_at: datetime, source: str) -> None:
    """The learner exists (from an event or the users service); `academy_runtime.learner_registry`."""
    await learner_registry.record_registered(
        session, KnownLearner, user_id=user_id, registered_at=registered_at, source=source
    )


async def record_erased(session: AsyncSession, *, user_id: int, erased_at: datetime) -> None:
    """The learner withdrew consent: billing takes no new write for them (their records stay)."""
    await learner_registry.record_erased(
        session, KnownLearner, user_id=user_id, erased_at=erased_at, registered_at=erased_at
    )


def idempotency_subject(user_id: int) -> str:
    """The subject under which the answers to a learner's wallet commands are stored (`idempotency_keys`):
    an erasure deletes them (`learners.erasure`)."""
    return f"user/{user_id}"


async def is_erased(session: AsyncSession, user_id: int) -> bool:
    """Whether the users service erased the learner: money that arrives for them afterwards (a payment
    started before the erasure and settled after it) goes back instead of buying or crediting anything."""
    return await learner_registry.is_erased(session, KnownLearner, user_id)


async def mark_for_pseudonymisation(session: AsyncSession, user_id: int) -> None:
    """Something personal was just recorded for an erased learner (a Stars payer's Telegram id, from a
    payment that arrived after the erasure): the reconciliation's sweep pseudonymises them again."""
    await session.execute(
        update(KnownLearner)
        .where(KnownLearner.user_id == user_id, KnownLearner.erased_at.is_not(None))
        .values(pseudonymised_at=None)
    )


async def require_learner(session: AsyncSession, resources: Resources, user_id: int) -> None:
    """Refuse (404 `learner_not_found`) a write for a learner billing does not know or who was erased;
    ask the users service when the projection has not heard of the id yet (see the module's docstring).
    A known learner's row stays share-locked until the transaction ends (an erasure waits for the write)."""
    try:
        state = await learner_registry.learner_state(session, KnownLearner, user_id, lock=True)
    except LearnerNotFoundError:
        metrics.LEARNER_CHECKS.labels("erased").inc()
        raise
    if state is learner_registry.LearnerState.KNOWN:
        metrics.LEARNER_CHECKS.labels("projection").inc()
        return
    try:
        # The users client of `payments.service.Providers` (opened per process by `academy_billing.app`).
        users = resources.extras["providers"].users
        found = await users.get(f"/internal/users/{user_id}")
    except NotFoundError:
        metrics.LEARNER_CHECKS.labels("unknown").inc()
        raise LearnerNotFoundError(user_id) from None
    metrics.LEARNER_CHECKS.labels("users_service").inc()
    log.info("learner confirmed by the users service ahead of its event", extra={"user_id": user_id})
    registered_at = found.get("created_at") if isinstance(found, dict) else None
    await record_registered(
        session,
        user_id=user_id,
        registered_at=datetime.fromisoformat(registered_at) if isinstance(registered_at, str) else datetime.now(UTC),
        source="users_service",
    )
