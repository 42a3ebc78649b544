"""SIGKILL an API, a relay and a consumer mid-handler: each comes back under the supervisor, no event
is lost and no effect happens twice (the outbox keeps what the relay had not published, the inbox and
the award key keep a redelivered event from acting twice). Recovery times are printed (`-s`)."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import asyncpg
import httpx
import pytest
from academy_tg_emulator.client import TestUser

from .helpers import points_messages, register

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

LEARNER_LOCK_SPACE = 0x6A4D  # academy_gamification.learners.repository.LEARNER_LOCK


async def kill(e2e, name: str) -> tuple[int, float]:
    """SIGKILL the process group of `name`; returns (its pid, monotonic time of the kill)."""
    process = e2e.stack.process(name)
    assert process.alive()
    assert process.pid is not None
    pid = process.pid
    os.killpg(pid, signal.SIGKILL)
    return pid, time.monotonic()


async def back_and_ready(e2e, name: str, old_pid: int, killed_at: float, timeout: float = 90) -> float:
    """Seconds from the kill until `name` runs again (new pid) and answers its readiness URL."""
    process = e2e.stack.process(name)
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2, trust_env=False) as http:
        while True:
            if process.alive() and process.pid != old_pid:
                try:
                    if (await http.get(process.ready_url or "")).status_code == 200:
                        recovered = time.monotonic() - killed_at
                        print(f"\nRECOVERY {name}: ready again {recovered:.2f} s after SIGKILL", flush=True)
                        return recovered
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} not back within {timeout}s:\n{process.tail()}")
            await asyncio.sleep(0.05)


async def welcome_points_arrive_once(tg, learner: TestUser, timeout: float = 90) -> None:
    await tg.wait_for_message(learner.id, lambda m: bool(points_messages([m])), timeout=timeout)
    await asyncio.sleep(2)  # room for a wrong second award
    assert len(points_messages(await tg.messages(learner.id))) == 1


async def test_a_killed_api_comes_back_and_serves_learners(tg, e2e):
    pid, killed_at = await kill(e2e, "users-api")
    seconds = await back_and_ready(e2e, "users-api", pid, killed_at)
    assert e2e.stack.process("gamification-api").alive()  # the others kept running
    learner = TestUser.new("AfterApiKill")
    await register(tg, learner, timeout=30)
    await welcome_points_arrive_once(tg, learner)
    assert seconds < 30


async def test_events_committed_while_the_relay_is_dead_are_published_once_it_is_back(tg, e2e):
    learners = [TestUser.new(f"RelayKill{i}") for i in range(3)]
    await register(tg, learners[0], timeout=30)
    pid, killed_at = await kill(e2e, "users-worker")  # the users worker is its outbox relay
    for learner in learners[1:]:  # committed to users' outbox while no relay runs
        await register(tg, learner, timeout=30)
    seconds = await back_and_ready(e2e, "users-worker", pid, killed_at)
    for learner in learners:
        await welcome_points_arrive_once(tg, learner)
    assert seconds < 60


async def test_a_consumer_killed_mid_handler_applies_the_event_exactly_once_after_its_restart(tg, e2e):
    """The welcome-points handler takes the learner's advisory lock after recording the event in its
    inbox; the test holds that lock, so the handler is caught mid-transaction when it is killed."""
    dsn = e2e.platform.infra.admin_url.rsplit("/", 1)[0] + f"/{e2e.platform.database}"
    admin = await asyncpg.connect(dsn)
    try:
        last = await admin.fetchval("SELECT coalesce(max(id), 0) FROM users.users")
        keys = list(range(last + 1, last + 6))  # the next learners' ids, whatever the sequence's cache
        for key in keys:
            await admin.execute("SELECT pg_advisory_lock($1, $2)", LEARNER_LOCK_SPACE, key)
        learner = TestUser.new("ConsumerKill")
        await register(tg, learner, timeout=30)
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory' AND datname = $1"
        deadline = time.monotonic() + 30
        while await admin.fetchval(waiting, e2e.platform.database) == 0:
            assert time.monotonic() < deadline, "the welcome-points handler never reached the learner's lock"
            await asyncio.sleep(0.05)
        pid, killed_at = await kill(e2e, "gamification-worker")  # mid-handler: inbox row written, uncommitted
        await asyncio.sleep(1)
        for key in keys:
            await admin.execute("SELECT pg_advisory_unlock($1, $2)", LEARNER_LOCK_SPACE, key)
        seconds = await back_and_ready(e2e, "gamification-worker", pid, killed_at)
        await welcome_points_arrive_once(tg, learner)
        user_id = await admin.fetchval("SELECT id FROM users.users WHERE telegram_id = $1", learner.id)
        ledger = await admin.fetch(
            "SELECT points FROM gamification.points_ledger WHERE user_id = $1 AND reason = 'welcome'", user_id
        )
        assert [row["points"] for row in ledger] == [50]
        assert seconds < 60
    finally:
        await admin.close()
