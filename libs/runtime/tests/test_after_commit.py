"""Jobs buffered on a session run after its commit, never before it and never after a rollback; rollback
jobs (`run_after_rollback`) the other way round."""

import pytest
from academy_runtime.after_commit import run_after_commit, run_after_rollback, wait_for_after_commit_jobs
from academy_runtime.db import transaction
from academy_runtime.resources import Resources
from sqlalchemy import text

pytestmark = pytest.mark.integration


class RolledBackError(Exception):
    pass


def recorder(ran: list[str], name: str):
    async def record() -> None:
        ran.append(name)

    return record


async def buffer_then_fail(resources, ran: list[str]) -> None:
    async with transaction(resources.sessionmaker) as session:
        run_after_commit(session, recorder(ran, "rolled back"))
        raise RolledBackError


async def test_jobs_run_after_a_commit_and_are_dropped_on_rollback(resources):
    ran: list[str] = []
    with pytest.raises(RolledBackError):
        await buffer_then_fail(resources, ran)
    async with transaction(resources.sessionmaker) as session:
        run_after_commit(session, recorder(ran, "committed"))
        await wait_for_after_commit_jobs()
        assert ran == []  # not before the commit
    await wait_for_after_commit_jobs()

    assert ran == ["committed"]


async def test_a_failing_job_is_logged_and_the_others_still_run(resources, caplog):
    ran: list[str] = []

    async def fail() -> None:
        raise ConnectionError("redis is down")

    async with transaction(resources.sessionmaker) as session:
        run_after_commit(session, fail)
        run_after_commit(session, recorder(ran, "second"))
    await wait_for_after_commit_jobs()

    assert ran == ["second"]
    assert "after-commit job failed" in caplog.text


async def test_closing_the_resources_waits_for_started_jobs(settings):
    resources = Resources.open(settings)
    ran: list[str] = []

    async def slow_cache_write() -> None:
        await resources.redis.ping()  # the client close() is about to shut
        ran.append("written")

    async with transaction(resources.sessionmaker) as session:
        run_after_commit(session, slow_cache_write)
    await resources.close()

    assert ran == ["written"]


async def undo_then_fail(resources, ran: list[str], *, used_the_database: bool) -> None:
    async with transaction(resources.sessionmaker) as session:
        if used_the_database:
            await session.execute(text("SELECT 1"))
        run_after_rollback(session, recorder(ran, "undone"))
        run_after_commit(session, recorder(ran, "never"))
        raise RolledBackError


@pytest.mark.parametrize("used_the_database", [True, False])
async def test_rollback_jobs_run_after_a_rollback_only(resources, used_the_database):
    """What an upload put in S3 for a row that is never committed is removed (issue 10's avatars)."""
    ran: list[str] = []
    with pytest.raises(RolledBackError):
        await undo_then_fail(resources, ran, used_the_database=used_the_database)
    async with transaction(resources.sessionmaker) as session:
        await session.execute(text("SELECT 1"))
        run_after_rollback(session, recorder(ran, "kept"))
    await wait_for_after_commit_jobs()

    assert ran == ["undone"]


async def fail_in_a_savepoint(session) -> None:
    async with session.begin_nested():
        await session.execute(text("SELECT 1"))
        raise RolledBackError


async def test_a_savepoint_rolled_back_is_not_the_transaction_rolled_back(resources):
    ran: list[str] = []
    async with transaction(resources.sessionmaker) as session:
        run_after_rollback(session, recorder(ran, "undone"))
        run_after_commit(session, recorder(ran, "committed"))
        with pytest.raises(RolledBackError):
            await fail_in_a_savepoint(session)
    await wait_for_after_commit_jobs()

    assert ran == ["committed"]
