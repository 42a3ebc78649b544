"""The baseline: raw aio-pika publishing with publisher confirms, no database in the way.

The same messages (`academy_runtime.bus.event_message` of the same CloudEvents) go to the same
durable topic exchange and durable queue the relay publishes to, over one confirming channel.
"""

from __future__ import annotations

import asyncio
import time

from academy_runtime.bus import event_message

from bench.env import BenchEnv
from bench.events import Receiver, payload

RECEIVE_TIMEOUT_S = 10.0
BATCH_TIMEOUT_S = 60.0


async def latency_sample(env: BenchEnv, receiver: Receiver, user_id: int) -> tuple[float, float]:
    """One publish when idle: (publish → confirm, publish → consumer receives), in seconds."""
    body = payload(user_id)
    received = receiver.expect(body["id"])
    try:
        started = time.perf_counter()
        await env.exchange.publish(event_message(body), routing_key=body["type"])
        confirmed = time.perf_counter()
        delivered = await asyncio.wait_for(received, RECEIVE_TIMEOUT_S)
    finally:
        receiver.forget(body["id"])
    return confirmed - started, delivered - started


async def throughput(env: BenchEnv, events: int) -> float:
    """Seconds to publish `events` messages the way the relay does: a batch of `outbox_batch_size`
    publishes gathered concurrently on one confirming channel, then the next batch once all are confirmed."""
    bodies = [payload(i + 1) for i in range(events)]
    batch = env.settings.outbox_batch_size
    started = time.perf_counter()
    for offset in range(0, events, batch):
        await asyncio.wait_for(
            asyncio.gather(
                *(
                    env.exchange.publish(event_message(b), routing_key=b["type"])
                    for b in bodies[offset : offset + batch]
                )
            ),
            timeout=BATCH_TIMEOUT_S,
        )
    return time.perf_counter() - started
