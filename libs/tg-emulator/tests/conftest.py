"""One emulator server for the whole session; every test starts from a reset state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
from academy_tg_emulator import DEFAULT_BOT_TOKEN, EmulatorClient, EmulatorConfig, EmulatorServer, TestUser
from academy_tg_emulator.config import BotSpec
from academy_tg_emulator.testing import RawBotApi

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
        await client.reset(full=True)
        yield client


@pytest.fixture
async def http(base_url: str, tg: EmulatorClient) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client on the emulator (``tg`` first, so the state is reset before)."""
    del tg
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=10) as client:
        yield client


@pytest.fixture
def api(http: httpx.AsyncClient) -> RawBotApi:
    """Direct Bot API calls as the default bot."""
    return RawBotApi(http)


@pytest.fixture(scope="session")
def second_bot_token() -> str:
    return SECOND_BOT_TOKEN


@pytest.fixture
def user() -> TestUser:
    return TestUser.new("Anna", last_name="Petrova", username="anna_p")


@pytest.fixture(scope="session")
async def session_bot(base_url: str) -> AsyncIterator[Bot]:
    """One aiogram bot for the session (aiogram sleeps 250 ms whenever it closes a session)."""
    pytest.importorskip("aiogram")
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    instance = Bot(DEFAULT_BOT_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
    yield instance
    await instance.session.close()


@pytest.fixture
def bot(session_bot: Bot, tg: EmulatorClient) -> Bot:
    """The aiogram bot pointed at the emulator (``tg`` first, so the state is reset before)."""
    del tg
    return session_bot
