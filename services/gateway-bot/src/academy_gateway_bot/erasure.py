"""Forgetting an erased learner: everything the gateway holds of them, in PostgreSQL and in Redis.

A learner withdraws their consent (152-ФЗ art. 9 §2) and the users service erases them; the law then asks
every holder to destroy the data (art. 21 §5). The gateway holds, per learner: the `learners` row (Telegram
id, language, time zone), the `user_states` row, the `notification_log` (the texts it sent them), and in
Redis every key `redis_keys.learner_key_patterns` names (the conversation and its answers, the cached
learner context, throttling and send windows, a pressed button, avatar `file_id`s). `forget_erased_learner`
removes all of it and leaves a tombstone of the user id alone (`erased_learners`), so a registration event of
theirs delivered late cannot bring the row back.

Two callers, one function: the `users.user_erased.v2` consumer (an erasure made anywhere: an operator, the
bot in another process), and the bot's own erasure flow, which runs it at once so the chat is clean before
the event arrives. The event carries no Telegram id; it is read from the `learners` row before the row goes
(the bot's flow also knows it from the update). Idempotent and order-tolerant: a second run finds nothing,
and an erasure that arrives before the registration leaves the tombstone the registration then respects.

On a Redis Cluster (REDIS_CLUSTER=true) the SCAN of each pattern visits every primary (redis-py's cluster
`scan_iter`), and the learner's keys of one pattern share their hash tag (`{T}`, `{U}`), so each DEL is one
slot's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from academy_runtime.resources import RedisClient
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gateway_bot import redis_keys
from academy_gateway_bot.learners import LearnerRepository

log = logging.getLogger(__name__)

_SCAN_BATCH = 500


@dataclass(frozen=True)
class ForgottenLearner:
    """What `forget_erased_learner` found: the Telegram id it cleaned the chat of (None: unknown, the row
    was gone) and how many Redis keys it deleted."""

    user_id: int
    telegram_id: int | None
    redis_keys_deleted: int


async def forget_erased_learner(
    session: AsyncSession,
    redis: RedisClient,
    prefix: str,
    user_id: int,
    *,
    erased_at: datetime,
    telegram_id: int | None = None,
) -> ForgottenLearner:
    """Delete the learner `user_id`'s rows (within `session`'s transaction: the caller commits) and their
    Redis keys (at once; deleting twice is harmless, so a rolled-back transaction retried is too).

    `telegram_id`: the caller's knowledge of the chat (the bot's flow); the consumer passes none and the
    `learners` row says. Without either, keys by Telegram id are left: the chat then belongs to a newer
    account of the same person, whose conversation must not be cut.
    """
    known = await LearnerRepository(session).erase(user_id, erased_at=erased_at, telegram_id=telegram_id)
    deleted = await _delete_keys(redis, redis_keys.learner_key_patterns(prefix, user_id=user_id, telegram_id=known))
    log.info(
        "erased learner forgotten",
        extra={"user_id": user_id, "chat_known": known is not None, "redis_keys_deleted": deleted},
    )
    return ForgottenLearner(user_id=user_id, telegram_id=known, redis_keys_deleted=deleted)


async def _delete_keys(redis: RedisClient, patterns: list[str]) -> int:
    """Delete every key matching one of `patterns` but an events-isolation lock (`redis_keys.is_fsm_lock`:
    the update being handled holds it and aiogram deletes it when the update ends)."""
    deleted = 0
    for pattern in patterns:
        batch: list[bytes | str] = []
        async for key in redis.scan_iter(match=pattern, count=_SCAN_BATCH):
            name = key.decode() if isinstance(key, bytes) else str(key)
            if redis_keys.is_fsm_lock(name):
                continue
            batch.append(key)
            if len(batch) >= _SCAN_BATCH:
                deleted += int(await redis.delete(*batch))
                batch = []
        if batch:
            deleted += int(await redis.delete(*batch))
    return deleted
