import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import aio_pika
import httpx
import pytest
import uvicorn
from academy_billing.app import service as billing_service
from academy_billing.models import messaging
from academy_billing.settings import BillingSettings
from academy_runtime.auth import TokenCache
from academy_runtime.client import ServiceClient
from academy_runtime.db import transaction
from academy_runtime.http import create_app
from academy_runtime.resources import Resources
from academy_runtime.service import ServiceDefinition
from academy_runtime.settings import settings_as
from academy_runtime.testing import ProducerBus, TestPlatform
from academy_tg_emulator import DEFAULT_BOT_TOKEN, EmulatorConfig, EmulatorServer
from academy_yookassa_emulator.client import YooKassaEmulatorClient
from academy_yookassa_emulator.config import YooKassaEmulatorConfig
from academy_yookassa_emulator.server import YooKassaEmulatorServer
from pydantic import SecretStr
from sqlalchemy import select

pytest_plugins = ["academy_runtime.testing"]

T = TypeVar("T")


@pytest.fixture(scope="session")
def service() -> ServiceDefinition:
    return billing_service


@pytest.fixture(scope="session")
def telegram_server() -> Iterator[EmulatorServer]:
    """The Bot API emulator: Stars payments are made there, and billing refunds them there."""
    with EmulatorServer(EmulatorConfig()) as server:
        yield server


@pytest.fixture(scope="session")
def yookassa_server(platform: TestPlatform) -> Iterator[YooKassaEmulatorServer]:
    """The YooKassa emulator, with the shop key the platform gives billing; notifications go to
    `billing_http` once it listens."""
    config = YooKassaEmulatorConfig(
        secret_key=f"{platform.auth_secret}-yookassa",
        notification_retry_initial_delay=0.05,
        notification_retry_max_delay=0.2,
    )
    with YooKassaEmulatorServer(config) as server:
        yield server


@pytest.fixture(scope="session")
def settings(
    platform: TestPlatform,
    service: ServiceDefinition,
    telegram_server: EmulatorServer,
    yookassa_server: YooKassaEmulatorServer,
) -> BillingSettings:
    # ENVIRONMENT=test refuses the development YooKassa key exactly as production does: the platform
    # gives the run a key of its own, as a deployment would, and the emulator is started with it.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("YOOKASSA_SECRET_KEY", f"{platform.auth_secret}-yookassa")
        return settings_as(
            platform.settings_for(
                service,
                yookassa_api_url=yookassa_server.api_url,
                yookassa_trusted_networks=["127.0.0.1/32", "::1/128"],
                telegram_api_url=telegram_server.base_url,
                telegram_bot_token=SecretStr(DEFAULT_BOT_TOKEN),
                yookassa_pending_timeout_s=1,
            ),
            BillingSettings,
        )


LEARNER_PHONE = "+79161234567"


def _users_service(request: httpx.Request) -> httpx.Response:
    """The users service's one answer billing needs (a learner's phone for the fiscal receipt)."""
    user_id = int(request.url.path.rsplit("/", 1)[1])
    if user_id == 404:
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "no such learner"}})
    return httpx.Response(200, json={"id": user_id, "phone": LEARNER_PHONE, "full_name": "Анна Смирнова"})


@pytest.fixture(scope="session")
async def billing_http(
    resources: Resources, service: ServiceDefinition, yookassa_server: YooKassaEmulatorServer
) -> AsyncIterator[str]:
    """Billing's app on a real port (YooKassa's notifications need an address), sharing `resources`;
    the users service is a stub of the one call billing makes to it."""
    providers = resources.extras["providers"]
    await providers.users.aclose()
    tokens = TokenCache.from_settings(resources.settings)
    providers.users = ServiceClient("users", "http://users", tokens, transport=httpx.MockTransport(_users_service))
    app = create_app(service, resources.settings)
    app.state.resources = resources
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    async with YooKassaEmulatorClient(yookassa_server.base_url) as client:
        await client.set_notification_url(f"{url}/webhooks/yookassa")
    yield url
    server.should_exit = True
    await task


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
async def publish(
    resources: Resources, platform: TestPlatform
) -> AsyncIterator[Callable[[bytes, str], Awaitable[None]]]:
    """Publish a raw message body on the run's events exchange, as another service's relay would (as the
    broker user of the service the routing key names)."""
    exchange = ProducerBus(platform)

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
    await exchange.close()
