"""One emulator server for the whole session; every test starts from a reset state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import httpx
import pytest

from academy_tg_emulator import DEFAULT_BOT_TOKEN, EmulatorClient, EmulatorConfig, EmulatorServer, TestUser
from academy_tg_emulator.config import BotSpec

if TYPE_CHECKING:
    from aiogram import Bot

SECOND_BOT_TOKEN = "777000:SECOND-BOT"


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    config = EmulatorConfig(
        bots=[BotSpec(token=DEFAULT_BOT_TOKEN), BotSpec(token=SECOND_BOT_TOKEN, username="second_test_bot")],
        webhook_retry_initial_delay=0.05,
        webhook_retry_max_delay=0.2,
        webhook_timeout=2.0,
    )
    with EmulatorServer(config) as server:
        yield server


@pytest.fixture(scope="session")
def base_url(emulator_server: EmulatorServer) -> str:
    return emulator_server.base_url


@pytest.fixture
async def tg(base_url: str) -> AsyncIterator[EmulatorClient]:
    async with EmulatorClient(base_url) as client:
        await client.reset()
        yield client


@pytest.fixture
async def http(base_url: str, tg: EmulatorClient) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client on the emulator (``tg`` first, so the state is reset before)."""
    del tg
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=10) as client:
        yield client


@pytest.fixture
def user() -> TestUser:
    return TestUser.new("Anna", last_name="Petrova", username="anna_p")


@pytest.fixture
async def bot(base_url: str, tg: EmulatorClient) -> AsyncIterator[Bot]:
    """An aiogram bot pointed at the emulator (``tg`` first, so the state is reset before)."""
    pytest.importorskip("aiogram")
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    del tg
    session = AiohttpSession(api=TelegramAPIServer.from_base(base_url))
    instance = Bot(DEFAULT_BOT_TOKEN, session=session)
    yield instance
    await instance.session.close()
