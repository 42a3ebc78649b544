import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import aio_pika
import pytest
from academy_billing.app import service as billing_service
from academy_billing.models import messaging
from academy_billing.settings import BillingSettings
from academy_runtime.bus import declare_events_exchange
from academy_runtime.db import transaction
from academy_runtime.resources import Resources
from academy_runtime.service import ServiceDefinition
from academy_runtime.testing import TestPlatform
from sqlalchemy import select

pytest_plugins = ["academy_runtime.testing"]

T = TypeVar("T")


@pytest.fixture(scope="session")
def service() -> ServiceDefinition:
    return billing_service


@pytest.fixture(scope="session")
def settings(platform: TestPlatform, service: ServiceDefinition) -> BillingSettings:
    # The platform runs services with ENVIRONMENT=test, which refuses the development YooKassa key
    # exactly as production does; give the run a key of its own, as a deployment would. (Redundant
    # once TestPlatform.settings_env sets YOOKASSA_SECRET_KEY itself; harmless until then.)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("YOOKASSA_SECRET_KEY", f"{platform.auth_secret}-yookassa")
        settings = platform.settings_for(service)
    assert isinstance(settings, BillingSettings)
    return settings


@pytest.fixture
def in_transaction(resources: Resources) -> Callable[[Callable[[Any], Awaitable[T]]], Awaitable[T]]:
    """Run `work(session)` in its own committed transaction, as a request or a consumer would."""

    async def run(work: Callable[[Any], Awaitable[T]]) -> T:
        async with transaction(resources.sessionmaker) as session:
            return await work(session)

    return run


@pytest.fixture
def outbox(resources: Resources) -> Callable[..., Awaitable[list[dict[str, Any]]]]:
    """The payloads written to the outbox so far, oldest first, optionally of one event type."""

    async def read(event_type: str | None = None) -> list[dict[str, Any]]:
        statement = select(messaging.outbox.c.payload).order_by(messaging.outbox.c.id)
        if event_type is not None:
            statement = statement.where(messaging.outbox.c.event_type == event_type)
        async with resources.sessionmaker() as session:
            return list((await session.execute(statement)).scalars())

    return read


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(0.05)


@pytest.fixture
def eventually() -> Callable[..., Awaitable[None]]:
    """Poll an async check until it holds (work done by consumers happens in the background)."""
    return _eventually


@pytest.fixture
async def publish(resources: Resources) -> AsyncIterator[Callable[[bytes, str], Awaitable[None]]]:
    """Publish a raw message body on the run's events exchange, as another service's relay would."""
    connection = await aio_pika.connect(resources.settings.rabbitmq_url)
    channel = await connection.channel(publisher_confirms=True)
    exchange = await declare_events_exchange(channel, resources.settings.events_exchange)

    async def send(body: bytes, routing_key: str) -> None:
        await exchange.publish(
            aio_pika.Message(
                body=body,
                content_type="application/cloudevents+json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key,
        )

    yield send
    await connection.close()
