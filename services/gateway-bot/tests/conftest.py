from collections.abc import AsyncIterator, Iterator

import pytest
from academy_gateway_bot.app import service as gateway_service
from academy_gateway_bot.bot import BotRuntime, open_bot_runtime
from academy_runtime.resources import Resources
from academy_runtime.service import ServiceDefinition
from academy_tg_emulator.client import EmulatorClient
from academy_tg_emulator.server import run_in_background

pytest_plugins = ["academy_runtime.testing"]


@pytest.fixture(scope="session")
def service() -> ServiceDefinition:
    return gateway_service


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    with run_in_background() as url:
        yield url


@pytest.fixture
async def tg(emulator_url: str) -> AsyncIterator[EmulatorClient]:
    async with EmulatorClient(emulator_url) as client:
        yield client
        await client.clear_fail_next()
        await client.set_rate_limit(enabled=False)


@pytest.fixture(scope="session")
async def bot_runtime(resources: Resources, emulator_url: str) -> AsyncIterator[BotRuntime]:
    """The gateway's real Bot, pointed at the emulator, with the sender and the service clients."""
    settings = resources.settings.model_copy(update={"telegram_api_url": emulator_url})
    scoped = Resources(
        settings=settings, engine=resources.engine, sessionmaker=resources.sessionmaker, redis=resources.redis
    )
    await open_bot_runtime(scoped)
    runtime = scoped.extras["bot"]
    resources.extras["bot"] = runtime
    yield runtime
    resources.extras.pop("bot", None)
    await runtime.aclose()
