"""The console against real Redis and a real catalog service (its API served by uvicorn on a free port, on the
run's own database), as the operators' browser would reach it: over HTTP, with cookies."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from academy_catalog.app import service as catalog_service
from academy_console.app import create_app
from academy_console.settings import ConsoleSettings
from academy_devstack.stack import free_port
from academy_runtime.auth import OPERATORS_ISSUER, OperatorAccount, hash_operator_password
from academy_runtime.http import create_app as create_service_app
from academy_runtime.service import ServiceDefinition
from academy_runtime.settings import ServiceSettings
from academy_runtime.testing import TestPlatform
from asgi_lifespan import LifespanManager

pytest_plugins = ["academy_runtime.testing"]

PASSWORD = "a long console password"
ROLES = {
    "alice": ("catalog-editor",),
    "bob": ("support",),
    "frank": ("finance",),
    "olga": ("operations", "broadcaster"),
}


@pytest.fixture(scope="session")
def service() -> ServiceDefinition:
    """The catalog is the real service the console's pages call here (migrated by the testing plugin)."""
    return catalog_service


@pytest.fixture(scope="session")
async def catalog_url(migrated: ServiceSettings) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_service_app(catalog_service, migrated), host="127.0.0.1", port=port, log_config=None)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_operator_password(PASSWORD)


@pytest.fixture(scope="session")
def console_settings(platform: TestPlatform, catalog_url: str, password_hash: str) -> ConsoleSettings:
    accounts = {
        name: OperatorAccount(roles=frozenset(roles), password_hash=password_hash) for name, roles in ROLES.items()
    }
    return ConsoleSettings(
        environment="test",
        redis_url=platform.infra.redis_url,
        redis_prefix=f"{platform.run_id}:",
        catalog_url=catalog_url,
        # Nothing listens on port 1: the pages that call these services meet an unreachable service.
        users_url="http://127.0.0.1:1",
        progress_url="http://127.0.0.1:1",
        billing_url="http://127.0.0.1:1",
        gamification_url="http://127.0.0.1:1",
        gateway_bot_url="http://127.0.0.1:1",
        service_timeout_s=2,
        operator_signing_key=platform.signing_key(OPERATORS_ISSUER).private_text(),
        operator_accounts=accounts,
        # Tests sign in often; the limits' own test builds an app with small ones.
        login_rate_limit_name="1000/minute",
        login_rate_limit_address="1000/minute",
    )


class Browser:
    """An HTTP client with cookies, as a browser is: signs in, reads pages, sends their forms back."""

    def __init__(self, client: httpx.AsyncClient, app: Any) -> None:
        self.client = client
        self.app = app

    async def sign_in(self, name: str, password: str = PASSWORD, *, next_path: str = "/") -> httpx.Response:
        form = await self.client.get("/login")
        token = csrf_of(form.text)
        return await self.client.post(
            "/login", data={"name": name, "password": password, "csrf_token": token, "next": next_path}
        )

    async def submit(self, page_path: str, action: str, data: dict[str, str]) -> httpx.Response:
        """POST `data` to `action` with the CSRF token of the page at `page_path`, as its form would."""
        page = await self.client.get(page_path)
        assert page.status_code == 200, page.text
        return await self.client.post(action, data={"csrf_token": csrf_of(page.text), **data})


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


@contextlib.asynccontextmanager
async def browsers(settings: ConsoleSettings) -> AsyncIterator[Callable[[], Awaitable[Browser]]]:
    """A factory of fresh browsers (no cookies) on one console app with its lifespan run."""
    app = create_app(settings)
    clients: list[httpx.AsyncClient] = []
    async with LifespanManager(app):

        async def make() -> Browser:
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://console.test")
            clients.append(client)
            return Browser(client, app)

        yield make
        for client in clients:
            await client.aclose()


@pytest.fixture
async def browser(console_settings: ConsoleSettings) -> AsyncIterator[Callable[[], Awaitable[Browser]]]:
    async with browsers(console_settings) as make:
        yield make
