"""The worker's /healthz and /readyz: a consumer stuck in its handler fails liveness, and recovers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket

import httpx
import pytest
from academy_runtime.gc_tuning import GEN0_THRESHOLD
from academy_runtime.health import Heartbeat, liveness
from academy_runtime.worker import run_worker
from sqlalchemy import func, select, text

from .conftest import Effect, test_service
from .helpers import eventually, publish_event, registered

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_idle_consumer_is_alive_and_a_loop_that_stopped_beating_is_not() -> None:
    consumer = Heartbeat("consumer registrations")
    relay = Heartbeat("outbox-relay", beats_regularly=True)
    relay.last_beat -= 10
    consumer.last_beat -= 10_000  # idle for hours: nothing to do is not a hang
    assert liveness([consumer, relay], deadline_s=5) == {
        "consumer registrations": "ok",
        "outbox-relay": "no progress for 10 s",
    }
    with consumer.working():
        assert liveness([consumer], deadline_s=5) == {"consumer registrations": "ok"}
    assert consumer.handled == 1


async def test_a_consumer_stuck_in_its_handler_fails_liveness_until_it_moves_again(resources, migrated) -> None:
    port = free_port()
    settings = migrated.model_copy(update={"worker_metrics_port": port, "http_host": "127.0.0.1"})
    gc_threshold = gc.get_threshold()
    worker = asyncio.create_task(run_worker(test_service, settings, stall_deadline_s=1.0))
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=3, trust_env=False) as http:

            async def answers(path: str, status: int) -> bool:
                with contextlib.suppress(httpx.HTTPError):
                    return (await http.get(path)).status_code == status
                return False

            await eventually(lambda: answers("/readyz", 200), what="worker ready")
            ready = (await http.get("/readyz")).json()
            assert ready["checks"] == {"database": "ok", "broker": "ok", "consumers": "ok"}
            assert (await http.get("/healthz")).status_code == 200
            assert "academy_" in (await http.get("/metrics")).text
            # Started: start-up's objects frozen and collections far apart, as in the API (gc_tuning).
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold()[0] == GEN0_THRESHOLD

            # The handler's INSERT waits for this lock: a hung consumer, as a deadlocked handler would be.
            async with resources.sessionmaker() as session, session.begin():
                await session.execute(text(f"LOCK TABLE {Effect.__table__.fullname} IN EXCLUSIVE MODE"))
                await publish_event(settings, registered(901))
                await eventually(lambda: answers("/healthz", 503), what="liveness fails", timeout=10)
                health = (await http.get("/healthz")).json()
                assert health["checks"]["consumer registrations"].startswith("no progress for")
                assert health["checks"]["outbox-relay"] == "ok"
            # Lock released: the handler finishes and the worker is healthy again, without a restart.
            await eventually(lambda: answers("/healthz", 200), what="liveness recovers", timeout=10)
            async with resources.sessionmaker() as session:
                count = select(func.count()).select_from(Effect).where(Effect.user_id == 901)
                assert (await session.execute(count)).scalar_one() == 1
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        gc.unfreeze()
        gc.set_threshold(*gc_threshold)
