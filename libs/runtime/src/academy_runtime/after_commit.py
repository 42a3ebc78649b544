"""Work that must only happen once the transaction has committed (cache updates and invalidations).

Redis is a cache of what PostgreSQL holds: writing it before the commit could show points that a
rollback then takes back, or let a reader cache the old rows again after an invalidation. Jobs are
buffered on the session and started when it commits; a rollback drops them. They run as background
tasks, so a Redis outage never fails or delays the transaction; a job that fails is logged, and the
cache it serves must repair itself (a TTL, the next update, a rebuild).

    run_after_commit(session, cache.invalidate)

works wherever the session comes from: a request's `SessionDep` (which commits before the response
is sent), a consumer's transaction, `academy_runtime.db.transaction`. `Resources.close()` waits for
the started jobs, so a process that stops does not cut one off.

`run_after_rollback(session, job)` is the mirror image: a job started only if the transaction rolls
back (the users service removes the S3 objects of an avatar upload whose row was never committed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
_KEY = "academy_runtime.after_commit"
_ROLLBACK_KEY = "academy_runtime.after_rollback"
_LISTENING = "academy_runtime.after_commit.listening"
_running: set[asyncio.Task[None]] = set()


def _listen(session: AsyncSession) -> Session:
    sync_session = session.sync_session
    if not sync_session.info.get(_LISTENING):
        # Once per session: the listeners stay (removing one while it runs is not allowed) and find
        # an empty buffer on later transactions that buffered nothing.
        event.listen(sync_session, "after_commit", _on_commit)
        # Every rollback, a transaction's that never reached the database included (`after_rollback`
        # hears only of DBAPI rollbacks, a savepoint's among them).
        event.listen(sync_session, "after_soft_rollback", _on_rollback)
        sync_session.info[_LISTENING] = True
    return sync_session


def run_after_commit(session: AsyncSession, job: Job) -> None:
    """Start `job` when the session's transaction commits; forget it if it rolls back."""
    _listen(session).info.setdefault(_KEY, []).append(job)


def run_after_rollback(session: AsyncSession, job: Job) -> None:
    """Start `job` if the session's transaction rolls back (an error anywhere before or in the commit);
    forget it if it commits. For undoing what was done outside the database in the transaction's name:
    objects uploaded to S3 for rows that will now never exist. Best effort: a job that fails is logged,
    and a process that dies in between runs nothing."""
    _listen(session).info.setdefault(_ROLLBACK_KEY, []).append(job)


def _start(jobs: list[Job]) -> None:
    for job in jobs:
        task = asyncio.get_running_loop().create_task(_run(job))
        _running.add(task)  # a strong reference until it finishes
        task.add_done_callback(_running.discard)


def _on_commit(sync_session: Session) -> None:
    sync_session.info.pop(_ROLLBACK_KEY, None)
    _start(sync_session.info.pop(_KEY, []))


def _on_rollback(sync_session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is not None:  # a savepoint within the transaction, which goes on
        return
    sync_session.info.pop(_KEY, None)
    _start(sync_session.info.pop(_ROLLBACK_KEY, []))


async def _run(job: Job) -> None:
    try:
        await job()
    except Exception as exc:  # the cache it serves repairs itself; the transaction stands
        name = getattr(job, "__qualname__", repr(job))
        log.warning("after-commit job failed", extra={"job": name, "error": repr(exc)})


async def wait_for_after_commit_jobs() -> None:
    """Let the started jobs finish (tests, and a process closing its resources)."""
    pending = list(_running)
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
