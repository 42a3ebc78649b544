"""What handling an update costs the gateway's event loop: no filter runs in aiogram's thread pool, no Redis
lock is taken where the process's own lock is the chat's."""

import asyncio
import functools
from typing import Any

import pytest
from academy_gateway_bot.bot import InlineFilterObject, create_dispatcher
from academy_runtime.resources import Resources
from aiogram.dispatcher.event import handler as aiogram_handler
from aiogram.fsm.storage.redis import RedisEventIsolation

from .learning_support import has_text, register

pytestmark = pytest.mark.integration


def test_no_handler_filter_of_the_gateway_runs_in_a_thread(bot_runtime):
    """aiogram calls a filter that is not awaitable (a magic filter, `F.text == ...`, a `State`) in
    `asyncio.to_thread`."""
    in_threads = [
        f"{router.name}.{name}: {handler.callback.__name__} {registered.callback!r}"
        for router in bot_runtime.dispatcher.chain_tail
        for name, observer in router.observers.items()
        for handler in [*observer.handlers, observer._handler]  # the observer's own filters too
        for registered in handler.filters or []
        if not registered.awaitable and not isinstance(registered, InlineFilterObject)
    ]

    assert in_threads == []


async def test_a_menu_button_reaches_its_handler_without_a_thread_hop(gateway, tg, monkeypatch):
    """The catalog's menu button is checked against the filters of the routers before the catalog's (about
    eight magic filters); each used to cross the thread pool. No handler of the gateway is a plain function."""
    user, _ = await register(gateway, tg)
    hops: list[Any] = []
    to_thread = asyncio.to_thread

    async def counting_to_thread(function: Any, /, *args: Any, **kwargs: Any) -> Any:
        hops.append(function.func if isinstance(function, functools.partial) else function)
        return await to_thread(function, *args, **kwargs)

    monkeypatch.setattr(aiogram_handler.asyncio, "to_thread", counting_to_thread)

    sent = await tg.send_text(user, "📚 Каталог курсов")
    catalog = await tg.wait_for_reply(sent, has_text("Каталог курсов"))

    assert "Каталог курсов" in catalog.text
    assert hops == []


async def test_in_long_polling_a_chat_is_locked_in_the_process_only(gateway, tg, monkeypatch):
    """One process receives every update in long polling (Telegram answers a second `getUpdates` 409), so
    the chat's lock is the process's own: no Redis lock (a SET NX and a release script per update)."""
    user, _ = await register(gateway, tg)
    storage = gateway.dispatcher.storage
    locks: list[Any] = []
    redis_lock = storage.redis.lock

    def recorded_lock(*args: Any, **kwargs: Any) -> Any:
        locks.append(kwargs.get("name", args[0] if args else None))
        return redis_lock(*args, **kwargs)

    monkeypatch.setattr(storage.redis, "lock", recorded_lock)

    sent = await tg.send_text(user, "📚 Каталог курсов")
    await tg.wait_for_reply(sent, has_text("Каталог курсов"))

    assert locks == []
    assert gateway.dispatcher.fsm.events_isolation.shared is None


def test_in_webhook_mode_a_chat_is_locked_across_replicas_in_redis(resources, bot_runtime):
    """Webhook deliveries of one chat may reach any replica: the process's lock stands in front of Redis's."""
    settings = resources.settings.model_copy(update={"bot_mode": "webhook"})
    webhook = Resources(
        settings=settings, engine=resources.engine, sessionmaker=resources.sessionmaker, redis=resources.redis
    )

    dispatcher = create_dispatcher(webhook, bot_runtime.clients)

    assert isinstance(dispatcher.fsm.events_isolation.shared, RedisEventIsolation)
