"""The aiogram side: Bot (pointed at Telegram, a local Bot API server or the emulator) and Dispatcher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
from academy_runtime.resources import Resources
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import Update
from redis.asyncio import Redis

from academy_gateway_bot import redis_keys
from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.context import LearnerContext
from academy_gateway_bot.handlers import (
    achievements,
    avatars,
    catalog,
    communities,
    fallback,
    language,
    learning,
    membership,
    menu,
    privacy,
    profile,
    purchases,
    registration,
    start,
    wallet,
)
from academy_gateway_bot.i18n import create_i18n_middleware
from academy_gateway_bot.middlewares import (
    FriendlyErrors,
    Throttling,
    UpdateDeduplication,
    UpdateHandlerAttributes,
    update_span,
)
from academy_gateway_bot.notifications.sender import NotificationSender, RetryAfterOnce
from academy_gateway_bot.runtime import BotRuntime, bot_runtime
from academy_gateway_bot.screens import AnswerEveryCallback, NoteCallbackAnswers

__all__ = ["BotRuntime", "TracedDispatcher", "bot_runtime", "create_bot", "create_dispatcher", "open_bot_runtime"]
from academy_gateway_bot.settings import GatewaySettings
from academy_gateway_bot.telegram_responses import PinResponseTypes


def create_bot(settings: GatewaySettings) -> Bot:
    if settings.telegram_api_url:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/")))
    else:
        session = AiohttpSession()
    bot = Bot(
        settings.telegram_bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    # Notes every answerCallbackQuery a handler makes, so AnswerEveryCallback never answers twice.
    bot.session.middleware(NoteCallbackAnswers())
    # An answer to a learner that meets Telegram's flood control (429) is made again after `retry_after`.
    bot.session.middleware(RetryAfterOnce())
    # Each answer's parsing model is kept once built, not rebuilt after every garbage collection.
    bot.session.middleware(PinResponseTypes())
    return bot


class ResourcesRedisStorage(RedisStorage):
    """aiogram's RedisStorage on the process's Redis, which `Resources` owns and closes. The dispatcher's
    shutdown (the end of polling) closes its storage: aiogram's `close` would close the client under every
    other user of it, and on a `RedisCluster` fail outright (its `aclose` takes no `close_connection_pool`),
    which made the polling job log «telegram unreachable» and retry instead of stopping."""

    async def close(self) -> None:
        return None


def conversation_storage(resources: Resources) -> RedisStorage:
    """aiogram's FSM storage on the process's Redis, its keys hash-tagged by chat (`redis_keys.TaggedKeyBuilder`).

    The conversation's answers (personal data before registration) expire with an abandoned conversation.
    aiogram types its client as `Redis`; it calls only GET, SET, DEL and `lock()` (a one-key lock), which a
    `RedisCluster` (REDIS_CLUSTER=true) has as well, each on one key."""
    settings = resources.settings_as(GatewaySettings)
    return ResourcesRedisStorage(
        cast("Redis", resources.redis),
        key_builder=redis_keys.TaggedKeyBuilder(prefix=redis_keys.fsm_prefix(settings.redis_prefix)),
        state_ttl=settings.conversation_ttl_s,
        data_ttl=settings.conversation_ttl_s,
    )


@dataclass
class _ChatTurns:
    """A chat's queue in `ArrivalOrderIsolation`: its lock, and how many updates hold it or wait for it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    updates: int = 0


class ArrivalOrderIsolation(BaseEventIsolation):
    """One update of a chat at a time, in the order the process received them: a first-come, first-served
    lock per chat in the process (`asyncio.Lock` wakes its waiters in order) in front of `shared`, the lock
    across processes (aiogram's `RedisEventIsolation`) when there is one.

    `shared` is for webhook mode, where Telegram's deliveries of one chat may reach any replica. In long
    polling one process receives every update (Telegram refuses a second `getUpdates` while one is open:
    409 Conflict), so the process's lock is the chat's lock and the Redis one would only cost two round trips
    per update, its SET NX and its release script (issue 11: a fifth of the gateway worker was Redis calls).
    A rolling restart may overlap two pollers for a moment; de-duplication still handles each update once.

    The Redis lock alone is no queue: a waiting update tries again every 0.1 s, so when the lock came free
    the update that tried first got it, not the one that came first. Three messages typed in a burst (a
    name, a phone, a city) were handled out of order: the city was judged as a phone and lost (QA, issue
    11). aiogram starts a task per update in the order of `getUpdates`, and each reaches this lock before
    its first wait, so the process's order is Telegram's.
    """

    def __init__(self, shared: BaseEventIsolation | None) -> None:
        self.shared = shared
        self._chats: dict[StorageKey, _ChatTurns] = {}

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        """Hold the chat of `key` for the update's handling; raises what the shared lock raises."""
        turns = self._chats.setdefault(key, _ChatTurns())
        turns.updates += 1
        try:
            async with turns.lock:
                if self.shared is None:
                    yield
                else:
                    async with self.shared.lock(key):
                        yield
        finally:
            turns.updates -= 1
            if not turns.updates:  # nobody holds or waits: forget the chat
                del self._chats[key]

    async def close(self) -> None:
        if self.shared is not None:
            await self.shared.close()


class TracedDispatcher(Dispatcher):
    """aiogram's Dispatcher, handling each update inside its own span (`middlewares.update_span`).

    `feed_update` is where both ways in meet: the webhook endpoint calls it, and long polling reaches it
    through `Dispatcher._process_update`. Wrapping it (rather than adding an update middleware) puts
    aiogram's own outer middlewares inside the span too: the errors middleware, the FSM's per-chat lock,
    then de-duplication and translations. In webhook mode the span is a child of the request's server span
    (the same trace); in long polling it starts the update's trace.
    """

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        with update_span(update):
            return await super().feed_update(bot, update, **kwargs)


class InlineFilterObject(FilterObject):
    """A filter that is a plain callable (a magic filter such as `F.text.in_(...)`, a `State`) checked in the
    event loop, as what it is: a few attribute reads. aiogram calls such a filter through `asyncio.to_thread`
    (`CallableObject.call`), so an update crossed the thread pool once per filter it was checked against on
    its way to a handler (about eight for a menu button), each hop waking a worker thread and then the
    loop (issue 11). The gateway's filters do no I/O; one that did would have to be a coroutine."""

    async def call(self, *args: Any, **kwargs: Any) -> Any:
        return self.callback(*args, **self._prepare_kwargs(kwargs))


def check_filters_inline(dispatcher: Dispatcher) -> None:
    """Makes every handler filter registered on `dispatcher` and its routers an `InlineFilterObject`. Call it
    once the routers are included."""
    for router in dispatcher.chain_tail:
        for observer in router.observers.values():
            for handler in observer.handlers:
                for index, registered in enumerate(handler.filters or []):
                    if not registered.awaitable and not isinstance(registered, InlineFilterObject):
                        original = registered.magic if registered.magic is not None else registered.callback
                        handler.filters[index] = InlineFilterObject(original)  # type: ignore[index]


def create_dispatcher(resources: Resources, clients: ServiceClients) -> Dispatcher:
    settings = resources.settings_as(GatewaySettings)
    prefix = settings.redis_prefix
    storage = conversation_storage(resources)
    # Events isolation: one update of a chat at a time, so two messages sent in one burst are handled in
    # order, each seeing the state the other left (in the order they came: `ArrivalOrderIsolation`); across
    # processes too (a Redis lock per user and chat) when webhook deliveries may reach any replica.
    shared = storage.create_isolation() if settings.bot_mode == "webhook" else None
    dp = TracedDispatcher(storage=storage, events_isolation=ArrivalOrderIsolation(shared))
    dp["resources"] = resources
    dp["clients"] = clients
    dp.update.outer_middleware(UpdateDeduplication(resources.redis, prefix))
    # After de-duplication (a duplicate costs nothing). Not `setup()`: that would clear the shared,
    # process-wide translations when one of several dispatchers (tests) shuts down.
    dp.update.outer_middleware(create_i18n_middleware())
    # First of the callback middlewares: every press is answered exactly once, whatever happens after
    # (throttled, a handler that failed, a button no handler knows), and «not modified» never escapes.
    dp.callback_query.outer_middleware(AnswerEveryCallback())
    throttling = Throttling(resources.redis, prefix, settings.throttle_updates_per_minute)
    dp.message.outer_middleware(throttling)
    dp.callback_query.outer_middleware(throttling)
    # The handler (and command) that takes an update, named on its span: on every kind of event.
    handler_attributes = UpdateHandlerAttributes()
    for name, observer in dp.observers.items():
        if name not in {"update", "error"}:
            observer.middleware(handler_attributes)
    dp.message.middleware(FriendlyErrors())
    dp.callback_query.middleware(FriendlyErrors())
    learner_context = LearnerContext(resources.redis, prefix)
    dp.message.middleware(learner_context)
    dp.callback_query.middleware(learner_context)
    dp.include_routers(
        membership.make_router(),
        start.make_router(),
        purchases.make_router(),  # first: a successful payment is handled whatever step the chat is in
        registration.make_router(),
        menu.make_router(),
        profile.make_router(),
        avatars.make_router(),  # before the menu buttons' routers: a button ends the wait for a photo
        privacy.make_router(),
        wallet.make_router(),  # before the menu buttons' routers: a button leaves a typed top-up amount
        language.make_router(),
        catalog.make_router(),
        learning.make_router(),
        achievements.make_router(),
        communities.make_router(),
        fallback.make_router(),  # last: whatever no other router took gets an answer
    )
    check_filters_inline(dp)
    return dp


async def open_bot_runtime(
    resources: Resources, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
) -> None:
    settings = resources.settings_as(GatewaySettings)
    clients = ServiceClients.from_settings(settings, transports)
    bot = create_bot(settings)
    runtime = BotRuntime(
        bot=bot,
        dispatcher=create_dispatcher(resources, clients),
        clients=clients,
        sender=NotificationSender.from_settings(bot, resources.redis, settings),
    )
    resources.extras["bot"] = runtime
