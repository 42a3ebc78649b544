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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
_KEY = "academy_runtime.after_commit"
_LISTENING = "academy_runtime.after_commit.listening"
_running: set[asyncio.Task[None]] = set()


def run_after_commit(session: AsyncSession, job: Job) -> None:
    """Start `job` when the session's transaction commits; forget it if it rolls back."""
    sync_session = session.sync_session
    if not sync_session.info.get(_LISTENING):
        # Once per session: the listeners stay (removing one while it runs is not allowed) and find
        # an empty buffer on later transactions that buffered nothing.
        event.listen(sync_session, "after_commit", _start_jobs)
        event.listen(sync_session, "after_rollback", _drop_jobs)
        sync_session.info[_LISTENING] = True
    sync_session.info.setdefault(_KEY, []).append(job)


def _start_jobs(sync_session: Session) -> None:
    jobs: list[Job] = sync_session.info.pop(_KEY, [])
    for job in jobs:
        task = asyncio.get_running_loop().create_task(_run(job))
        _running.add(task)  # a strong reference until it finishes
        task.add_done_callback(_running.discard)


def _drop_jobs(sync_session: Session) -> None:
    sync_session.info.pop(_KEY, None)


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
