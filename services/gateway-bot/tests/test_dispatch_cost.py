"""What handling an update costs the gateway's event loop: no filter runs in aiogram's thread pool."""

import asyncio
import functools
from typing import Any

import pytest
from academy_gateway_bot.bot import InlineFilterObject
from aiogram.dispatcher.event import handler as aiogram_handler

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
