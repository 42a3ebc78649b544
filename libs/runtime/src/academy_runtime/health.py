"""Liveness, readiness and metrics endpoints shared by every service, and the worker's heartbeats.

An API answers `/healthz` from its event loop. A worker serves `/healthz`, `/readyz` and `/metrics` on
its metrics port (`academy_runtime.worker`); its `/healthz` also asks every `Heartbeat` (the relay's
poll loop, each consumer) whether it has made progress within a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import aio_pika
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from academy_runtime.resources import Resources

router = APIRouter(tags=["operations"])

_CHECK_TIMEOUT_S = 2.0


async def _check_database(resources: Resources) -> None:
    async with resources.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _check_redis(resources: Resources) -> None:
    await resources.redis.ping()


async def _check_broker(resources: Resources) -> None:
    connection = resources.extras.get("amqp_probe")
    if connection is None or connection.is_closed:
        connection = await aio_pika.connect(resources.settings.rabbitmq_url, timeout=_CHECK_TIMEOUT_S)
        resources.extras["amqp_probe"] = connection


async def readiness(resources: Resources) -> dict[str, Any]:
    checks = {"database": _check_database, "redis": _check_redis, "broker": _check_broker}
    results: dict[str, Any] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(resources), timeout=_CHECK_TIMEOUT_S)
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"unavailable: {exc.__class__.__name__}"
    return results


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    results = await readiness(request.app.state.resources)
    ready = all(value == "ok" for value in results.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": results}, status_code=200 if ready else 503
    )


@router.get("/metrics", include_in_schema=False)
async def metrics_endpoint() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


# -- the worker's liveness -------------------------------------------------------------------------
class Heartbeat:
    """One loop of a worker (the outbox relay, one consumer) telling the liveness probe it still moves.

    A loop that should come round regularly (the relay: every poll interval or backoff) calls
    `beat()` each time round. A consumer, which may rightly sit idle for hours, instead wraps each
    message in `working()`: it is stalled only when a message has been in its handler for too long.
    Times are `time.monotonic()` seconds.
    """

    def __init__(self, name: str, *, beats_regularly: bool = False) -> None:
        self.name = name
        self.beats_regularly = beats_regularly
        self.last_beat = time.monotonic()
        self.handled = 0
        self._in_flight: dict[int, float] = {}
        self._next_token = 0

    def beat(self) -> None:
        """The loop went round (or finished a piece of work) just now."""
        self.last_beat = time.monotonic()

    @contextmanager
    def working(self) -> Iterator[None]:
        """Around one unit of work (one message): counted as in flight until it returns or raises."""
        self._next_token += 1
        token = self._next_token
        self._in_flight[token] = time.monotonic()
        try:
            yield
        finally:
            del self._in_flight[token]
            self.handled += 1
            self.beat()

    def stalled_for(self, now: float) -> float:
        """Seconds this loop has shown no progress: the oldest unit of work in flight, else (for a
        loop that beats regularly) the time since its last beat; 0.0 for an idle consumer."""
        if self._in_flight:
            return now - min(self._in_flight.values())
        return now - self.last_beat if self.beats_regularly else 0.0


def liveness(heartbeats: Iterable[Heartbeat], deadline_s: float) -> dict[str, str]:
    """Per loop, `ok` or why it looks hung (no progress for more than `deadline_s` seconds)."""
    now = time.monotonic()
    results: dict[str, str] = {}
    for heartbeat in heartbeats:
        stalled = heartbeat.stalled_for(now)
        results[heartbeat.name] = "ok" if stalled <= deadline_s else f"no progress for {stalled:.0f} s"
    return results
