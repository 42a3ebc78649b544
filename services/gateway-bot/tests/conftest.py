import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from academy_billing.app import service as billing_service
from academy_catalog.app import service as catalog_service
from academy_gamification.app import service as gamification_service
from academy_gateway_bot.app import service as gateway_service
from academy_gateway_bot.bot import BotRuntime, open_bot_runtime
from academy_gateway_bot.notifications.delivery import send_notifications
from academy_gateway_bot.polling import receive_telegram_updates
from academy_progress.app import service as progress_service
from academy_progress.clients import USERS_EXTRA, UsersClient
from academy_runtime.auth import OPERATORS_ISSUER, OperatorTokenCache, TokenCache
from academy_runtime.client import ServiceClient
from academy_runtime.consumer import ConsumerRuntime
from academy_runtime.inprocess import InProcessStack
from academy_runtime.resources import Resources
from academy_runtime.service import ServiceDefinition
from academy_runtime.testing import TestPlatform, cleanup_broker
from academy_tg_emulator.client import EmulatorClient
from academy_tg_emulator.server import run_in_background
from academy_users.app import service as users_service
from academy_yookassa_emulator.config import YooKassaEmulatorConfig
from academy_yookassa_emulator.server import YooKassaEmulatorServer
from pydantic import SecretStr

from . import learning_support

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


def yookassa_key(platform: TestPlatform) -> str:
    """The run's own shop key (outside development billing refuses the development default)."""
    return f"{platform.auth_secret}-yookassa"


@pytest.fixture(scope="session")
def yookassa(platform: TestPlatform) -> Iterator[YooKassaEmulatorServer]:
    """The local YooKassa emulator billing creates top-up payments with."""
    with YooKassaEmulatorServer(YooKassaEmulatorConfig(secret_key=yookassa_key(platform))) as server:
        yield server


@pytest.fixture(scope="session")
async def services(
    platform: TestPlatform, emulator_url: str, yookassa: YooKassaEmulatorServer
) -> AsyncIterator[InProcessStack]:
    """The services the gateway talks to, real and in this process: users, catalog, progress, gamification,
    billing (apps, outbox relays and consumers on the run's database, broker and Redis). Billing refunds
    Stars through the Bot API emulator and takes roubles through the YooKassa emulator."""
    stack = InProcessStack(
        platform,
        [users_service, catalog_service, progress_service, gamification_service, billing_service],
        overrides={
            "billing": {
                "telegram_api_url": emulator_url,
                "yookassa_api_url": yookassa.api_url,
                "yookassa_secret_key": SecretStr(yookassa_key(platform)),
            }
        },
    )
    async with stack:
        # Billing asks users for a receipt's phone: in this process, through the users app.
        billing = stack["billing"]
        providers = billing.resources.extras["providers"]
        await providers.users.aclose()
        tokens = TokenCache.from_settings(billing.settings)
        providers.users = ServiceClient("users", "http://users", tokens, transport=stack["users"].transport())
        # Progress asks users for the name and avatar a transcript shows: likewise through the users app.
        progress = stack["progress"]
        await progress.resources.extras[USERS_EXTRA].aclose()
        progress.resources.extras[USERS_EXTRA] = UsersClient(
            "users",
            "http://users",
            TokenCache.from_settings(progress.settings),
            transport=stack["users"].transport(),
            retries=0,
        )
        queues = stack.queue_names()
        yield stack
    await cleanup_broker(platform.infra.rabbitmq_url, platform.run_id, queues)


@pytest.fixture(scope="session")
def operator(services: InProcessStack, platform: TestPlatform) -> ServiceClient:
    """Billing as a finance operator (alice) calls it: refunds, adjustments."""
    tokens = OperatorTokenCache(platform.signing_key(OPERATORS_ISSUER), "alice", ["finance"])
    return ServiceClient("billing", "http://billing", tokens, transport=services["billing"].transport())


@pytest.fixture(scope="session", autouse=True)
def operators(services: InProcessStack, platform: TestPlatform, operator: ServiceClient) -> learning_support.Operators:
    """The people who make the tests' catalog and fund wallets: an editor (catalog-editor) and alice (finance)."""
    tokens = OperatorTokenCache(platform.signing_key(OPERATORS_ISSUER), "editor", ["catalog-editor"])
    editor = learning_support.CatalogEditor(
        "catalog", "http://catalog", tokens, transport=services["catalog"].transport()
    )
    learning_support.OPERATORS.catalog, learning_support.OPERATORS.billing = editor, operator
    return learning_support.OPERATORS


@pytest.fixture(scope="session")
async def bot_runtime(resources: Resources, emulator_url: str, services: InProcessStack) -> AsyncIterator[BotRuntime]:
    """The gateway's real Bot, pointed at the emulator, with the sender and clients of the real services."""
    settings = resources.settings.model_copy(update={"telegram_api_url": emulator_url})
    scoped = Resources(
        settings=settings, engine=resources.engine, sessionmaker=resources.sessionmaker, redis=resources.redis
    )
    await open_bot_runtime(scoped, services.transports())
    runtime = scoped.extras["bot"]
    resources.extras["bot"] = runtime
    learning_support.OPERATORS.bot_catalog_cache = runtime.clients.catalog.cache
    yield runtime
    learning_support.OPERATORS.bot_catalog_cache = None
    resources.extras.pop("bot", None)
    await runtime.aclose()


@pytest.fixture(scope="session")
async def gateway(resources: Resources, bot_runtime: BotRuntime) -> AsyncIterator[BotRuntime]:
    """The whole gateway at work: long polling the emulator for updates, its event consumers running
    (notifications) and the queued notifications sent, so a test talks to the bot as a learner would and
    hears what events make it say."""
    consumers = ConsumerRuntime(resources, gateway_service.messaging, gateway_service.consumers)
    await consumers.start()
    polling = asyncio.create_task(receive_telegram_updates(resources), name="polling")
    notifying = asyncio.create_task(send_notifications(resources), name="notifications")
    yield bot_runtime
    await bot_runtime.dispatcher.stop_polling()
    polling.cancel()
    notifying.cancel()
    await asyncio.gather(polling, notifying, return_exceptions=True)
    await consumers.stop()
