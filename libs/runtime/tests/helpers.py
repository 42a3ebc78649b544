from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aio_pika
import uvicorn
from academy_contracts import build_event
from academy_contracts.users import UserRegisteredV1
from academy_runtime.bus import event_message
from academy_runtime.testing import ProducerBus, TestPlatform


def registered(user_id: int) -> UserRegisteredV1:
    return UserRegisteredV1(
        user_id=user_id,
        telegram_id=10_000 + user_id,
        username=None,
        full_name=None,
        locale="ru",
        city=None,
        consent_personal_data=False,
        consent_version=None,
        registered_at=datetime.now(UTC),
    )


PLATFORM: TestPlatform | None = None
"""The session's test platform, set by conftest for every test that uses it: events are published as their
producer's broker user, as the producer's relay would (with `user_id`), so consumers accept them."""


async def publish_raw(
    settings, body: bytes | dict, routing_key: str = "users.user_registered.v1", *, as_service: str | None = None
) -> None:
    """Publish `body` on the run's exchange as the service the routing key names (or `as_service`)."""
    assert PLATFORM is not None, "publish_raw needs a test that uses the platform fixture"
    assert settings.events_exchange == PLATFORM.events_exchange
    if isinstance(body, dict):
        message = event_message(body)
    else:
        message = aio_pika.Message(body=body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
    bus = ProducerBus(PLATFORM)
    try:
        await bus.publish(message, routing_key, as_service=as_service)
    finally:
        await bus.close()


async def publish_event(settings, data, *, event_id: str | None = None) -> dict:
    payload = build_event(data, event_id=event_id).model_dump(mode="json", exclude_none=True)
    await publish_raw(settings, payload, payload["type"])
    return payload


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(0.05)


def body_of(message: aio_pika.abc.AbstractIncomingMessage) -> dict:
    return json.loads(message.body)


@asynccontextmanager
async def under_uvicorn(app: Any, **options: Any) -> AsyncIterator[int]:
    """`app` served by a real uvicorn on 127.0.0.1 and a free port (yielded) until the block ends; `options`
    go to `uvicorn.Config` (host and port included, to override)."""
    config: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "log_config": None, **options}
    server = uvicorn.Server(uvicorn.Config(app, **config, lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
