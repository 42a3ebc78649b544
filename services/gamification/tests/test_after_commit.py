import pytest
from academy_gamification.after_commit import run_after_commit, wait_for_after_commit_jobs
from academy_runtime.db import transaction

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
