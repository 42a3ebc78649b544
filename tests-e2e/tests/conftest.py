"""The platform as processes, on free ports, with a database and bus namespace of its own.

RabbitMQ is reached through a TCP proxy the tests can cut, to show what a broker outage does.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from academy_billing.app import service as billing
from academy_catalog.app import service as catalog
from academy_devstack.chaos import TcpProxy
from academy_devstack.stack import SERVICES, Stack, StackConfig, free_port
from academy_devstack.supervisor import RestartPolicy
from academy_gamification.app import service as gamification
from academy_gateway_bot.app import service as gateway_bot
from academy_progress.app import service as progress
from academy_runtime.auth import OPERATOR_ROLES, OPERATORS_ISSUER, hash_operator_password
from academy_runtime.consumer import declare_consumer_queues
from academy_runtime.migrations import migrate
from academy_runtime.service import ServiceDefinition
from academy_runtime.settings import ServiceSettings
from academy_runtime.testing import TestPlatform, cleanup_broker
from academy_tg_emulator.client import EmulatorClient

pytest_plugins = ["academy_runtime.testing"]

CONSOLE_OPERATOR = "olivia"
"""The operator who signs in to the console in the browser tests (every role)."""
CONSOLE_PASSWORD = "e2e console password"


def console_env(platform: TestPlatform) -> dict[str, str]:
    """The console's settings for the run: its Redis prefix, the run's operators key, one account with a password."""
    accounts = {
        CONSOLE_OPERATOR: {"roles": list(OPERATOR_ROLES), "password_hash": hash_operator_password(CONSOLE_PASSWORD)}
    }
    return {
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "INFO",
        "REDIS_URL": platform.infra.redis_url,
        "REDIS_PREFIX": f"{platform.run_id}:",
        "OPERATOR_SIGNING_KEY": platform.signing_key(OPERATORS_ISSUER).private_text(),
        "OPERATOR_ACCOUNTS": json.dumps(accounts),
        "SERVICE_TIMEOUT_S": "20",
    }


DEFINITIONS: dict[str, ServiceDefinition] = {
    "users": __import__("academy_users.app", fromlist=["service"]).service,
    "catalog": catalog,
    "progress": progress,
    "gamification": gamification,
    "billing": billing,
    "gateway-bot": gateway_bot,
}


class E2E:
    def __init__(self, stack: Stack, platform: TestPlatform, proxy: TcpProxy) -> None:
        self.stack = stack
        self.platform = platform
        self.broker_proxy = proxy

    def settings(self, service: str) -> ServiceSettings:
        """`service`'s settings, connecting to the broker directly (not through the proxy) as its own user."""
        return self.platform.settings_for(DEFINITIONS[service])


def _broker_host_port(url: str) -> tuple[str, int]:
    host_port = url.rsplit("@", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    return host, int(port or 5672)


@pytest.fixture(scope="session")
async def e2e(platform: TestPlatform, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[E2E]:
    host, port = _broker_host_port(platform.infra.rabbitmq_url)
    proxy = TcpProxy(host, port).start()
    envs: dict[str, dict[str, str]] = {}
    for name, definition in DEFINITIONS.items():
        schema = definition.metadata.schema or name
        env = platform.settings_env(schema)
        # Through the proxy, as the service's own broker user.
        env["RABBITMQ_URL"] = platform.bus_url(name).replace(f"{host}:{port}", f"127.0.0.1:{proxy.port}")
        env["TELEGRAM_WEBHOOK_SECRET"] = "e2e-webhook-secret-0123456789"
        env["LOG_LEVEL"] = "INFO"
        # Broadcasts wait out learners' local night (21:00-09:00 by default): the tests run at any hour, so
        # the e2e platform has none (start == end). The quiet hours' own tests are the gateway's.
        env["BROADCAST_QUIET_START_HOUR"] = env["BROADCAST_QUIET_END_HOUR"] = "0"
        envs[name] = env
        await asyncio.to_thread(migrate, definition, "upgrade", "head", database_url=platform.database_url(schema))
        # As `academy-<service> migrate` does: queues exist before anything publishes.
        await declare_consumer_queues(platform.settings_for(definition), definition.consumers)
    await load_demo_catalog(platform)
    log_dir = Path(os.environ.get("E2E_LOG_DIR") or tmp_path_factory.mktemp("e2e-logs"))
    stack = Stack(
        StackConfig(
            env=envs,
            ports={name: (free_port(), free_port()) for name, *_ in SERVICES},
            emulator_port=free_port(),
            log_dir=log_dir,
            console_port=free_port(),
            console_env=console_env(platform),
        )
    )
    try:
        await asyncio.to_thread(stack.start)
        # As under `make run`: a process that dies comes back (tests-e2e/tests/test_recovery.py kills some).
        stack.supervise(lambda line: print(f"[supervisor] {line}", flush=True), RestartPolicy(initial_delay_s=0.2))
        yield E2E(stack, platform, proxy)
    finally:
        await asyncio.to_thread(stack.stop)
        proxy.close()
        queues = []
        for definition in DEFINITIONS.values():
            settings = platform.settings_for(definition)
            for consumer in definition.consumers:
                base = settings.queue_name(consumer.purpose)
                queues += [base, f"{base}.dlq", *(f"{base}.retry.{ms}" for ms in settings.consumer_retry_delays_ms)]
        await cleanup_broker(platform.infra.rabbitmq_url, platform.run_id, queues)


async def load_demo_catalog(platform: TestPlatform) -> None:
    """The demo catalog `make run` loads: the whole-learner journey browses it like a learner would."""
    resources = await catalog.open_resources(platform.settings_for(catalog))
    try:
        await catalog.commands["demo-catalog"].run(resources)
    finally:
        await resources.close()


@pytest.fixture
async def tg(e2e: E2E) -> AsyncIterator[EmulatorClient]:
    async with EmulatorClient(e2e.stack.emulator_url) as client:
        yield client


@pytest.fixture(scope="session")
def service() -> ServiceDefinition:
    """The testing plugin's per-service fixtures are not used here; `platform` is."""
    return DEFINITIONS["users"]
