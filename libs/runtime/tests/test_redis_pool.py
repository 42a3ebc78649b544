"""The process's Redis pool: past REDIS_MAX_CONNECTIONS in use a caller waits for a connection to come
back (up to REDIS_POOL_TIMEOUT_S) instead of failing at once — redis-py's default pool raised
MaxConnectionsError, and under the bot bench's backlog the gateway's updates failed that way."""

from __future__ import annotations

import asyncio
import time

import pytest
from academy_runtime.resources import open_redis
from academy_runtime.settings import ServiceSettings
from redis.exceptions import ConnectionError as RedisConnectionError

pytestmark = pytest.mark.integration


async def test_more_callers_than_connections_wait_their_turn(settings: ServiceSettings):
    narrow = settings.model_copy(update={"redis_max_connections": 2, "redis_pool_timeout_s": 5.0})
    redis = open_redis(narrow)
    key = f"{settings.redis_prefix}pool-test:{time.time_ns()}"
    try:
        # Six calls that each hold a connection for 0.2 s: two at a time, all of them answered.
        answers = await asyncio.gather(*(redis.blpop([key], timeout=0.2) for _ in range(6)))
        assert answers == [None] * 6
    finally:
        await redis.aclose()


async def test_a_caller_that_waits_past_the_timeout_gets_an_error_not_a_hang(settings: ServiceSettings):
    narrow = settings.model_copy(update={"redis_max_connections": 1, "redis_pool_timeout_s": 0.2})
    redis = open_redis(narrow)
    key = f"{settings.redis_prefix}pool-test:{time.time_ns()}"
    try:
        holder = asyncio.create_task(redis.blpop([key], timeout=1))
        await asyncio.sleep(0.1)
        with pytest.raises(RedisConnectionError):
            await redis.get(key)
        assert await holder is None
    finally:
        await redis.aclose()
