"""Forgetting an erased learner: what progress holds of them goes, in the transaction that records the erasure.

`users.user_erased.v2` (and v1 still queued from before the users service's issue-10 release) says the
learner withdrew their consent (152-ФЗ art. 9 §2, art. 21 §5: the data is destroyed once the purpose of
processing is gone). Progress then deletes, in the `learner-registry` consumer's transaction (`forget_learner`):

- `user_courses` (enrolments), `course_purchases`, `user_progress` (lessons, watch time),
  `user_transcripts` (the courses, the name a transcript was printed with), `inactivity_reminders`,
  `learner_preferences` (time zone, opt-out);
- the learner's events still in the `outbox` (published ones wait there for the retention sweep, and an
  unpublished one about an erased learner has no reader left to tell);
- the stored answers to the learner's commands (`idempotency_keys` with subject `user/<id>`).

What stays: the `learners` row with `erased_at` (so no write lands on the id again; a later registration of
the person is a new id), and per course the number of erased learners who were enrolled and who completed
it (`erased_enrolments`): a course's statistics are about the course, and numbers without the person are
not personal data (art. 3 §9, обезличивание). The inbox keeps the ids of the users events handled (random
ids, no content), which is what stops a redelivered registration from registering the learner again.

The transcript PDFs (`transcripts/<user_id>/` in S3) are deleted after the commit (`remove_learner_objects`,
an `academy_runtime.after_commit` job): never before, so a rolled-back erasure leaves the learner whole.
`learners.objects_removed_at` records that they are gone; a crash or an S3 outage between the commit and
the deletion leaves it null, and the worker's sweep (`sweep_erased_learners`) deletes them later. The
sweep also forgets the learners erased before progress deleted anything (an erasure v1 only marked them).
Redis holds nothing of a learner in progress (no cache), so there is nothing to evict there.
"""

from __future__ import annotations

import asyncio
import logging

from academy_runtime.after_commit import run_after_commit
from academy_runtime.consumer import EventContext
from academy_runtime.db import transaction
from academy_runtime.resources import Resources
from academy_runtime.storage import object_storage
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_progress import metrics
from academy_progress.learners.service import hold_learner
from academy_progress.models import (
    CoursePurchase,
    ErasedEnrolments,
    InactivityReminder,
    KnownLearner,
    LearnerPreferences,
    UserCourse,
    UserProgress,
    UserTranscript,
    messaging,
)
from academy_progress.settings import ProgressSettings
from academy_progress.transcripts.service import transcript_prefix

log = logging.getLogger(__name__)

SWEEP_BATCH = 100


def idempotency_subject(user_id: int) -> str:
    """The subject under which the answers to a learner's commands are stored (`idempotency_keys.subject`)."""
    return f"user/{user_id}"


async def forget_learner(session: AsyncSession, user_id: int) -> int:
    """Delete every row progress holds about the learner (see the module's docstring); returns how many.

    Run it with the learner's registry row locked (the erasure's upsert, or the sweep's `FOR UPDATE`): it
    then takes the learner's events lock (`hold_learner`), so a purchase, a time zone or a reminder being
    written for them commits first and is deleted here. The learner's own tables go before the outbox, so an
    event written by a transaction this one waited for is deleted too. Running it again deletes nothing more
    and counts nothing twice.
    """
    await hold_learner(session, user_id)
    completed = func.count().filter(UserCourse.is_completed.is_(True))
    tally = insert(ErasedEnrolments).from_select(
        ["course_id", "enrolled", "completed"],
        select(UserCourse.course_id, func.count(), completed)
        .where(UserCourse.user_id == user_id)
        .group_by(UserCourse.course_id),
    )
    await session.execute(
        tally.on_conflict_do_update(
            index_elements=[ErasedEnrolments.course_id],
            set_={
                "enrolled": ErasedEnrolments.enrolled + tally.excluded.enrolled,
                "completed": ErasedEnrolments.completed + tally.excluded.completed,
            },
        )
    )
    deleted = 0
    for model in (UserCourse, CoursePurchase, UserProgress, UserTranscript, InactivityReminder, LearnerPreferences):
        result = await session.execute(delete(model).where(model.user_id == user_id))
        deleted += int(getattr(result, "rowcount", 0) or 0)
    outbox = messaging.outbox
    result = await session.execute(delete(outbox).where(outbox.c.payload["data"]["user_id"].astext == str(user_id)))
    deleted += int(getattr(result, "rowcount", 0) or 0)
    deleted += await messaging.idempotency.forget_subject(session, idempotency_subject(user_id))
    await session.execute(
        update(KnownLearner)
        .where(KnownLearner.user_id == user_id)
        .values(forgotten_at=func.coalesce(KnownLearner.forgotten_at, func.now()))
    )
    return deleted


async def remove_learner_objects(resources: Resources, user_id: int) -> int:
    """Delete the learner's transcript PDFs from S3, then record it (`learners.objects_removed_at`); returns
    how many objects there were. Raises what the S3 client raises (the sweep tries again later)."""
    removed = await object_storage(resources).remove_prefix(transcript_prefix(user_id))
    async with transaction(resources.sessionmaker) as session:
        await session.execute(
            update(KnownLearner)
            .where(KnownLearner.user_id == user_id, KnownLearner.forgotten_at.is_not(None))
            .values(objects_removed_at=func.now())
        )
    return removed


async def on_learner_erased(ctx: EventContext, user_id: int) -> None:
    """The `learner-registry` consumer's erasure hook (`academy_runtime.learner_registry.ErasureHook`): the
    rows now, the objects once the transaction has committed."""
    deleted = await forget_learner(ctx.session, user_id)
    log.info("erased learner forgotten", extra={"user_id": user_id, "rows": deleted})
    metrics.ERASURES.labels("rows", "event").inc()

    async def remove_objects() -> None:
        await remove_learner_objects(ctx.resources, user_id)
        metrics.ERASURES.labels("objects", "event").inc()

    run_after_commit(ctx.session, remove_objects)


async def sweep_erased_learners_once(resources: Resources, *, batch: int = SWEEP_BATCH) -> dict[str, int]:
    """Finish what erasures left: forget erased learners whose rows are still here (erased before progress
    deleted anything), then delete the objects of those whose PDFs are not recorded as gone (a crash or an
    S3 outage after the erasure's commit). Returns counts; an S3 failure is logged and left for next time."""
    counts = {"rows": 0, "objects": 0, "objects_failed": 0}
    async with resources.sessionmaker() as session:
        unforgotten = (
            await session.scalars(
                select(KnownLearner.user_id)
                .where(KnownLearner.erased_at.is_not(None), KnownLearner.forgotten_at.is_(None))
                .order_by(KnownLearner.user_id)
                .limit(batch)
            )
        ).all()
    for user_id in unforgotten:
        async with transaction(resources.sessionmaker) as session:
            # The erasure's order: the registry row first, then the learner's events lock.
            await session.execute(select(KnownLearner.user_id).where(KnownLearner.user_id == user_id).with_for_update())
            await forget_learner(session, user_id)
        counts["rows"] += 1
        metrics.ERASURES.labels("rows", "sweep").inc()
    async with resources.sessionmaker() as session:
        with_objects = (
            await session.scalars(
                select(KnownLearner.user_id)
                .where(KnownLearner.forgotten_at.is_not(None), KnownLearner.objects_removed_at.is_(None))
                .order_by(KnownLearner.user_id)
                .limit(batch)
            )
        ).all()
    for user_id in with_objects:
        try:
            await remove_learner_objects(resources, user_id)
        except Exception as exc:  # S3 down: the learner stays pending for the next sweep
            log.warning("could not delete an erased learner's objects", extra={"user_id": user_id, "error": repr(exc)})
            counts["objects_failed"] += 1
            continue
        counts["objects"] += 1
        metrics.ERASURES.labels("objects", "sweep").inc()
    metrics.ERASURE_OBJECTS_PENDING.set(counts["objects_failed"])
    return counts


async def sweep_erased_learners(resources: Resources) -> None:
    """Worker job: `sweep_erased_learners_once` every `ERASURE_SWEEP_INTERVAL_S`, for ever."""
    settings = resources.settings_as(ProgressSettings)
    while True:
        try:
            counts = await sweep_erased_learners_once(resources)
            if counts["rows"] or counts["objects"]:
                log.info("erasure sweep finished leftovers", extra=counts)
        except Exception:
            log.exception("erasure sweep failed; retrying at the next interval")
        await asyncio.sleep(settings.erasure_sweep_interval_s)


__all__ = [
    "forget_learner",
    "idempotency_subject",
    "on_learner_erased",
    "remove_learner_objects",
    "sweep_erased_learners",
    "sweep_erased_learners_once",
]
