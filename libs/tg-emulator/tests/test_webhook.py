"""Webhook mode: the emulator POSTs updates to the bot, with the secret header, retrying failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from academy_tg_emulator import EmulatorClient, TestUser

pytest.importorskip("aiogram")

from aiogram import Bot, Dispatcher, Router
from aiogram.filters import Command, CommandStart
from aiogram.methods import SendMessage
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

pytestmark = pytest.mark.timeout(60)

SECRET = "s3cr3t_Token-42"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve an aiohttp app on a free local port for the block; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def recording(headers: list[str | None]) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        headers.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        return await handler(request)

    return middleware


async def test_aiogram_webhook_receives_updates_with_the_secret(bot: Bot, tg: EmulatorClient, user: TestUser) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Привет из вебхука")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    headers: list[str | None] = []
    app = web.Application(middlewares=[recording(headers)])
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token=SECRET).register(app, path="/webhook")
    async with serve(app) as url:
        assert await bot.set_webhook(f"{url}/webhook", secret_token=SECRET, allowed_updates=["message"])
        sent = await tg.send_command(user, "start")
        reply = await tg.wait_for_reply(sent)
        assert reply.text == "Привет из вебхука"
        info = await bot.get_webhook_info()
        assert info.url == f"{url}/webhook"
        assert info.pending_update_count == 0
        assert info.allowed_updates == ["message"]
        assert await bot.delete_webhook()
    assert headers == [SECRET]


async def test_a_wrong_secret_is_recorded_as_a_webhook_error(bot: Bot, tg: EmulatorClient, user: TestUser) -> None:
    dispatcher = Dispatcher()
    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token=SECRET).register(app, path="/webhook")
    async with serve(app) as url:
        await bot.set_webhook(f"{url}/webhook", secret_token="another-secret")
        await tg.send_text(user, "hello")
        for _ in range(100):
            info = await bot.get_webhook_info()
            if info.last_error_message:
                break
            await asyncio.sleep(0.02)
        assert info.last_error_message == "Wrong response from the webhook: 401 Unauthorized"
        assert info.last_error_date is not None
        assert info.pending_update_count == 1
        await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_a_reply_in_the_webhook_response_is_executed(bot: Bot, tg: EmulatorClient, user: TestUser) -> None:
    router = Router()

    @router.message(Command("ping"))
    async def ping(message: Message) -> SendMessage:
        return message.answer("pong")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, handle_in_background=False).register(app, path="/hook")
    async with serve(app) as url:
        await bot.set_webhook(f"{url}/hook")
        sent = await tg.send_command(user, "ping")
        reply = await tg.wait_for_reply(sent)
        await bot.delete_webhook()
    assert reply.text == "pong"
    [call] = await tg.calls("sendMessage")
    assert call.via == "webhook-response"
    assert call.params["chat_id"] == str(user.id)


async def test_failed_deliveries_are_retried_in_order(bot: Bot, tg: EmulatorClient, user: TestUser) -> None:
    received: list[dict[str, Any]] = []
    failures = 2

    async def flaky(request: web.Request) -> web.Response:
        nonlocal failures
        received.append(await request.json())
        if failures:
            failures -= 1
            return web.Response(status=500)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", flaky)
    async with serve(app) as url:
        await bot.set_webhook(f"{url}/hook")
        await tg.send_text(user, "first")
        await tg.send_text(user, "second")
        for _ in range(200):
            if len(received) >= 4:
                break
            await asyncio.sleep(0.02)
        info = await bot.get_webhook_info()
        await bot.delete_webhook()
    texts = [update["message"]["text"] for update in received]
    assert texts == ["first", "first", "first", "second"]
    assert len({update["update_id"] for update in received[:3]}) == 1
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"


async def test_an_unreachable_webhook_keeps_updates_pending(bot: Bot, tg: EmulatorClient, user: TestUser) -> None:
    app = web.Application()
    async with serve(app) as url:
        pass  # the port is free again: nothing listens there any more
    await bot.set_webhook(f"{url}/hook")
    await tg.send_text(user, "anyone?")
    for _ in range(100):
        info = await bot.get_webhook_info()
        if info.last_error_message:
            break
        await asyncio.sleep(0.02)
    assert info.last_error_message == "Connection refused"
    assert info.pending_update_count == 1
    await bot.delete_webhook()
    updates = await bot.get_updates()
    assert [update.message.text for update in updates if update.message] == ["anyone?"]
