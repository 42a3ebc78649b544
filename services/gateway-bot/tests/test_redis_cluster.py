"""REDIS_CLUSTER=true (issue 11): the gateway's Redis users on a local three-node Redis Cluster.

A second gateway runs in this module with REDIS_CLUSTER=true: its own Bot API emulator (so the session's
gateway, on the run's single Redis, never takes its updates), the real users, catalog, progress,
gamification and billing in process, and the same database. A learner talks to it: the conversation state
and answers, the events isolation, the de-duplication of updates, the throttling counters, the cached
learner context and the send windows all live in the cluster, and the keys one operation touches together
share a slot. The erasure deletes every key of a learner from whichever node holds it. The catalog's cache
(its get_or_load and invalidate, unchanged) is exercised here too: this package runs every service.

The cluster is the session's `redis_cluster_url` (academy_runtime.testing): started from the machine's
`redis-server` unless TEST_REDIS_CLUSTER_URL names one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from academy_catalog.cache import CatalogCache
from academy_gateway_bot import redis_keys
from academy_gateway_bot.bot import open_bot_runtime
from academy_gateway_bot.context import LearnerCtx, remember_in_cache
from academy_gateway_bot.erasure import forget_erased_learner
from academy_gateway_bot.middlewares import UpdateDeduplication
from academy_gateway_bot.polling import receive_telegram_updates
from academy_gateway_bot.runtime import BotRuntime, bot_runtime
from academy_runtime.db import transaction
from academy_runtime.resources import Resources, open_redis
from academy_runtime.settings import ServiceSettings
from academy_runtime.testing import cleanup_redis, on_redis_cluster, redis_entries, redis_entries_mentioning
from academy_tg_emulator.client import EmulatorClient, TestUser
from academy_tg_emulator.server import run_in_background
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Update
from redis.asyncio.cluster import RedisCluster
from redis.cluster import key_slot

pytestmark = pytest.mark.integration

WAIT = 15.0
THROTTLE = 12  # updates a minute per learner on this gateway: a registration takes five


def slot(key: str) -> int:
    return key_slot(key.encode())


def has(text: str):
    return lambda m: text in (m.text or "")


@pytest.fixture(scope="module")
def cluster_emulator_url() -> Iterator[str]:
    with run_in_background() as url:
        yield url


@pytest.fixture
async def tg2(cluster_emulator_url: str) -> AsyncIterator[EmulatorClient]:
    async with EmulatorClient(cluster_emulator_url) as client:
        yield client


@pytest.fixture(scope="module")
async def clustered(
    resources: Resources, services: Any, cluster_emulator_url: str, redis_cluster_url: str
) -> AsyncIterator[Resources]:
    """The gateway's resources with REDIS_CLUSTER=true (its database the run's), its bot runtime open on
    the cluster and long polling the module's emulator."""
    settings = on_redis_cluster(
        resources.settings.model_copy(
            update={"telegram_api_url": cluster_emulator_url, "throttle_updates_per_minute": THROTTLE}
        ),
        redis_cluster_url,
    )
    scoped = Resources(
        settings=settings, engine=resources.engine, sessionmaker=resources.sessionmaker, redis=open_redis(settings)
    )
    assert isinstance(scoped.redis, RedisCluster)
    await open_bot_runtime(scoped, services.transports())
    runtime = bot_runtime(scoped)
    polling = asyncio.create_task(receive_telegram_updates(scoped), name="cluster-polling")
    try:
        yield scoped
    finally:
        # As the session's gateway stops: the dispatcher first (cancelling a running poll can hang), then
        # the task; stop_polling waits for the long poll to end, at most a few seconds here.
        with contextlib.suppress(RuntimeError, TimeoutError):  # not polling (yet, or between its retries)
            await asyncio.wait_for(runtime.dispatcher.stop_polling(), timeout=5)
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
        await runtime.aclose()
        await cleanup_redis(settings.redis_url, settings.redis_prefix, cluster=True)
        await scoped.redis.aclose()


def gateway_of(resources: Resources) -> BotRuntime:
    return bot_runtime(resources)


async def keys_of_run(resources: Resources, pattern: str = "*") -> list[str]:
    prefix = resources.settings.redis_prefix
    return sorted([str(key) async for key in resources.redis.scan_iter(match=f"{prefix}{pattern}", count=500)])


async def test_a_conversation_keeps_its_state_answers_and_lock_together_on_the_cluster(clustered, tg2):
    gateway, prefix, redis = gateway_of(clustered), clustered.settings.redis_prefix, clustered.redis
    learner = TestUser.new("Кира", language_code="ru")
    t = learner.id

    sent = await tg2.send_command(learner, "start")
    consent = await tg2.wait_for_reply(sent, lambda m: bool(m.inline_buttons()), timeout=WAIT)
    press = await tg2.press_button_by_text(learner, consent, "✅ Принимаю")
    await tg2.wait_for_callback_answer(press, timeout=WAIT)
    await tg2.wait_for_message(t, has("Как вас зовут"), after=consent.message_id, timeout=WAIT)
    sent = await tg2.send_text(learner, "Кира Кластерова")
    ask_phone = await tg2.wait_for_reply(sent, timeout=WAIT)
    assert "номером телефона" in ask_phone.text

    # Mid-conversation: the state and the answers are in the cluster, under the chat's tag.
    storage_key = StorageKey(bot_id=gateway.bot.id, chat_id=t, user_id=t)
    assert await gateway.dispatcher.storage.get_state(storage_key) is not None
    assert (await gateway.dispatcher.storage.get_data(storage_key))["full_name"] == "Кира Кластерова"
    state, data, lock = (redis_keys.fsm(prefix, t, t, part) for part in ("state", "data", "lock"))
    assert await redis.get(state) is not None
    assert json.loads(await redis.get(data))["full_name"] == "Кира Кластерова"
    # Every key of the learner's chat shares one slot: the conversation's, its lock, the cached context,
    # the throttling counter, a pressed button (the erasure's DEL of them is one slot's).
    learner_keys = [
        state,
        data,
        lock,
        redis_keys.learner_context(prefix, t),
        redis_keys.throttle(prefix, t),
        redis_keys.press(prefix, t, "stars-invoice:1"),
    ]
    assert {slot(key) for key in learner_keys} == {slot(state)}
    # The events isolation of webhook mode takes its lock on that slot while an update is handled, and
    # gives it back (in long polling, as here, the process's own lock is the chat's: bot.ArrivalOrderIsolation).
    async with gateway.dispatcher.storage.create_isolation().lock(storage_key):
        assert await redis.exists(lock) == 1
    assert await redis.exists(lock) == 0
    # Throttling counted the learner's updates (/start, the press, the name) in the cluster.
    assert int(await redis.get(redis_keys.throttle(prefix, t))) >= 3

    sent = await tg2.share_contact(learner, f"7916{secrets.randbelow(10**7):07d}")
    ask_city = await tg2.wait_for_reply(sent, timeout=WAIT)
    assert "В каком городе" in ask_city.text
    sent = await tg2.send_text(learner, "Казань")
    welcome = await tg2.wait_for_reply(sent, timeout=WAIT)
    assert "Добро пожаловать в Beauty Academy, Кира!" in welcome.text
    # The answers left Redis with the registration; the learner context is cached under the learner's tag.
    assert await gateway.dispatcher.storage.get_data(storage_key) == {}
    assert await redis.exists(data) == 0
    context = await redis.get(redis_keys.learner_context(prefix, t))
    assert context is not None
    assert json.loads(context)["display_name"] == "Кира"

    # Each handled update was claimed, then marked done, in the cluster (keys spread by digest).
    handled = await keys_of_run(clustered, f"tg:update:{gateway.bot.id}:*")
    assert len(handled) >= 5
    assert {await redis.get(key) for key in handled} == {"done"}


async def test_an_update_delivered_twice_is_handled_once(clustered):
    gateway, prefix = gateway_of(clustered), clustered.settings.redis_prefix
    dedup = UpdateDeduplication(clustered.redis, prefix)
    chat = 10**9 + secrets.randbelow(10**9)
    update = Update.model_validate(
        {
            "update_id": 7,
            "message": {
                "message_id": 3,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "from": {"id": chat, "is_bot": False, "first_name": "Дубль"},
                "text": "привет",
            },
        }
    )
    handled: list[str] = []

    async def handler(_event: Any, data: dict[str, Any]) -> str:
        handled.append(data["idempotency_key"])
        return "handled"

    assert await dedup(handler, update, {"bot": gateway.bot}) == "handled"
    assert await dedup(handler, update, {"bot": gateway.bot}) is None
    assert len(handled) == 1

    async def failing(_event: Any, _data: dict[str, Any]) -> str:
        raise RuntimeError("the handler failed")

    other = update.model_copy(update={"update_id": 8, "message": update.message.model_copy(update={"message_id": 4})})
    with pytest.raises(RuntimeError):
        await dedup(failing, other, {"bot": gateway.bot})
    assert await dedup(handler, other, {"bot": gateway.bot}) == "handled"  # the failure released its claim


async def test_a_learner_over_the_limit_is_told_once_and_then_ignored(clustered, tg2):
    learner = TestUser.new("Болтушка", language_code="ru")
    first = None
    for n in range(THROTTLE + 2):
        sent = await tg2.send_text(learner, f"сообщение {n}")
        first = first or sent
    assert first is not None
    await tg2.wait_for_message(learner.id, has("Слишком много сообщений"), after=first.message_id, timeout=WAIT)
    counter = redis_keys.throttle(clustered.settings.redis_prefix, learner.id)
    for _ in range(int(WAIT / 0.05)):  # every update counted, the last ones maybe still being handled
        if int(await clustered.redis.get(counter) or 0) >= THROTTLE + 2:
            break
        await asyncio.sleep(0.05)
    assert int(await clustered.redis.get(counter)) == THROTTLE + 2
    assert 0 < await clustered.redis.ttl(counter) <= 60
    await asyncio.sleep(0.3)  # the last update's (unanswered) handling is over
    warnings = [m for m in await tg2.messages(learner.id) if "Слишком много сообщений" in (m.text or "")]
    assert len(warnings) == 1


async def test_sends_to_one_chat_keep_telegrams_pace_through_the_clusters_send_windows(clustered, tg2):
    gateway, prefix = gateway_of(clustered), clustered.settings.redis_prefix
    learner = TestUser.new("Окно", language_code="ru")
    opened = await tg2.send_text(learner, "привет")  # a bot may write only to a chat the learner started
    await tg2.wait_for_reply(opened, timeout=WAIT)
    # One script checks and reserves both windows at once: they share the `{send}` tag.
    windows = [redis_keys.global_send_window(prefix), redis_keys.chat_send_window(prefix, learner.id)]
    assert slot(windows[0]) == slot(windows[1])

    started = time.monotonic()
    await asyncio.gather(*(gateway.sender.send_message(learner.id, f"уведомление {n}") for n in range(2)))
    elapsed = time.monotonic() - started

    assert elapsed >= 1.0  # one message a second per chat (the window is 1.1 s)
    texts = [m.text for m in await tg2.messages(learner.id, after=opened.message_id)]
    assert sorted(text for text in texts if text and text.startswith("уведомление")) == [
        "уведомление 0",
        "уведомление 1",
    ]
    assert await clustered.redis.zcard(windows[1]) >= 1


async def test_the_erasure_deletes_every_key_of_the_learner_from_the_cluster(clustered):
    gateway, prefix, redis = gateway_of(clustered), clustered.settings.redis_prefix, clustered.redis
    user_id, telegram_id = 900_000 + secrets.randbelow(99_999), 10**9 + secrets.randbelow(10**9)
    other_user, other_chat = user_id + 1, telegram_id + 1
    for uid, chat in ((user_id, telegram_id), (other_user, other_chat)):
        storage_key = StorageKey(bot_id=gateway.bot.id, chat_id=chat, user_id=chat)
        await gateway.dispatcher.storage.set_state(storage_key, "ProfileEditing:city")
        await gateway.dispatcher.storage.set_data(storage_key, {"full_name": "Эрика Кластерная"})
        ctx = LearnerCtx(user_id=uid, telegram_id=chat, locale="ru", display_name="Эрика", city="Казань")
        await remember_in_cache(redis, prefix, ctx)
        await redis.set(redis_keys.throttle(prefix, chat), "3", ex=60)
        await redis.set(redis_keys.press(prefix, chat, "stars-invoice:1"), "1", ex=60)
        await redis.zadd(redis_keys.chat_send_window(prefix, chat), {"token": time.time() * 1000})
        await redis.pexpire(redis_keys.chat_send_window(prefix, chat), 60_000)
        for avatar_id in (7, 8):
            for size in ("large", "small"):
                await redis.set(redis_keys.avatar_file(prefix, uid, avatar_id, size), "AgACfile", ex=60)
    # Keys as a gateway of the release before the tags named them, written during the rollout.
    untagged = [f"{prefix}fsm:{telegram_id}:{telegram_id}:data", f"{prefix}tg:avatar:{user_id}:7:large"]
    for key in untagged:
        await redis.set(key, '{"full_name": "Эрика Кластерная"}', ex=60)
    # The avatar file ids of one learner share their tag (the avatars' DEL of several is one slot's).
    avatars = [redis_keys.avatar_file(prefix, user_id, a, s) for a in (7, 8) for s in ("large", "small")]
    assert len({slot(key) for key in avatars}) == 1
    chat_number = re.compile(rf"(?<!\d){telegram_id}(?!\d)")
    user_number = re.compile(rf"(?<!\d){user_id}(?!\d)")
    before = await redis_entries_mentioning(redis, prefix, [chat_number], in_keys=[user_number])
    assert len(before) >= 12  # state, data, context, throttle, press, window, 4 avatars, 2 untagged

    async with transaction(clustered.sessionmaker) as session:
        forgotten = await forget_erased_learner(
            session, redis, prefix, user_id, erased_at=datetime.now(UTC), telegram_id=telegram_id
        )

    assert forgotten.redis_keys_deleted == 12  # ten, and the two named without tags
    assert await redis_entries_mentioning(redis, prefix, [chat_number], in_keys=[user_number]) == []
    # The other learner's keys are all still there, on whichever node holds them.
    others = [key for key in await redis_entries(redis, prefix) if str(other_chat) in key or f"{{{other_user}}}" in key]
    assert len(others) == 10


async def test_the_catalogs_cache_works_unchanged_on_the_cluster(clustered, services):
    catalog_settings: ServiceSettings = services["catalog"].settings
    # A generous Redis timeout: on a busy machine the first calls to a cluster node (its connection, the slot
    # map) can pass the default 0.25 s, and a store that times out is a miss by design (the catalog's tests).
    settings = on_redis_cluster(catalog_settings, clustered.settings.redis_url).model_copy(
        update={
            "redis_prefix": f"{clustered.settings.redis_prefix}catalog-{secrets.token_hex(3)}:",
            "catalog_cache_timeout_s": 5.0,
        }
    )
    resources = Resources(
        settings=settings, engine=clustered.engine, sessionmaker=clustered.sessionmaker, redis=open_redis(settings)
    )
    cache = CatalogCache(resources)
    loads: list[int] = []

    async def load(*_session: object) -> bytes:  # a session, if the cache gives one
        loads.append(1)
        return f'{{"courses": {len(loads)}}}'.encode()

    try:
        assert await cache.get_or_load("courses", ("ru", 1), load) == b'{"courses": 1}'
        assert await cache.get_or_load("courses", ("ru", 1), load) == b'{"courses": 1}'  # a hit
        assert len(loads) == 1
        await cache.invalidate()
        assert await cache.get_or_load("courses", ("ru", 1), load) == b'{"courses": 2}'
        assert len(loads) == 2
        # The generation and the answers, which one MGET reads together, share a slot.
        keys = await keys_of_run(resources)
        assert len(keys) >= 2
        assert len({slot(key) for key in keys}) == 1, keys
    finally:
        await cleanup_redis(settings.redis_url, settings.redis_prefix, cluster=True)
        await resources.redis.aclose()
