"""The outbox relay side: events written with `Messaging.publish` and published by `OutboxRelay`."""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from academy_runtime.relay import OutboxRelay
from sqlalchemy import event, insert

from bench.env import BenchEnv
from bench.events import Receiver, outbox_row, registered

RECEIVE_TIMEOUT_S = 10.0
INSERT_CHUNK = 1_000


@contextlib.asynccontextmanager
async def running_relay(env: BenchEnv, relay: OutboxRelay | None = None) -> AsyncIterator[OutboxRelay]:
    """`OutboxRelay.run()` as a task, as the worker process runs it; stopped and closed on exit."""
    relay = relay or OutboxRelay(env.settings, env.sessionmaker, env.messaging)
    task = asyncio.create_task(relay.run(), name="outbox-relay")
    try:
        yield relay
    finally:
        relay.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=20)
        await relay.close()


async def latency_sample(env: BenchEnv, receiver: Receiver, user_id: int) -> tuple[float, float]:
    """One event written as services write them: (commit → consumer receives, the writer's transaction),
    in seconds. The commit time is taken right after the commit returns."""
    event_id = uuid.uuid4()
    received = receiver.expect(str(event_id))
    try:
        async with env.sessionmaker() as session:
            started = time.perf_counter()
            async with session.begin():
                await env.messaging.publish(session, registered(user_id), event_id=event_id)
            committed = time.perf_counter()
        delivered = await asyncio.wait_for(received, RECEIVE_TIMEOUT_S)
    finally:
        receiver.forget(str(event_id))
    return delivered - committed, committed - started


async def insert_backlog(env: BenchEnv, events: int) -> None:
    """`events` committed outbox rows, inserted in bulk (no NOTIFY: nothing is listening yet)."""
    rows = [outbox_row(i + 1) for i in range(events)]
    async with env.sessionmaker() as session, session.begin():
        for offset in range(0, events, INSERT_CHUNK):
            await session.execute(insert(env.messaging.outbox), rows[offset : offset + INSERT_CHUNK])


async def throughput(
    env: BenchEnv,
    events: int,
    *,
    timeout_s: float,
    profiler: cProfile.Profile | None = None,
    sql: dict[str, tuple[int, float]] | None = None,
) -> float:
    """Seconds from starting a relay over a committed backlog of `events` rows until it has published
    (broker-confirmed and marked) all of them."""
    await env.truncate_outbox()
    relay = OutboxRelay(env.settings, env.sessionmaker, env.messaging)
    try:
        # Warm-up on the empty outbox: the relay opens its broker connection, the pool its connection;
        # the baseline's publisher is connected before its clock starts too.
        await relay.publish_pending()
        await insert_backlog(env, events)
        if sql is not None:
            sql.clear()  # only the relay's own statements from here on
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        async with running_relay(env, relay):
            while relay.published_total < events:
                if time.perf_counter() - started > timeout_s:
                    raise TimeoutError(f"relay published {relay.published_total}/{events} in {timeout_s:.0f}s")
                await asyncio.sleep(0.002)
            elapsed = time.perf_counter() - started
            if profiler is not None:
                profiler.disable()
            counted = dict(sql or {})  # not what the relay runs after the last confirm while it stops
        if sql is not None:
            sql.clear()
            sql.update(counted)
    finally:
        if profiler is not None:
            profiler.disable()
        await relay.close()
    return elapsed


@contextlib.contextmanager
def sql_timer(env: BenchEnv) -> Iterator[dict[str, tuple[int, float]]]:
    """Count and time the SQL statements run through the bench engine, by their first word."""
    totals: dict[str, tuple[int, float]] = {}
    engine = env.engine.sync_engine  # type: ignore[union-attr]

    def before(conn: Any, *_: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        elapsed = time.perf_counter() - conn.info["bench_started"].pop()
        kind = statement.lstrip().split(None, 1)[0].upper()
        count, total = totals.get(kind, (0, 0.0))
        totals[kind] = (count + 1, total + elapsed)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield totals
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
