"""One sender for every message the platform pushes to learners, within Telegram's limits.

Limits are shared by every gateway process through Redis: at most `send_rate_global_per_s`
messages a second overall and `send_rate_per_chat_per_s` per chat (fixed one-second windows).
A 429 from Telegram is honoured: the sender waits `retry_after` and tries again; a learner who
blocked the bot is reported, not retried.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import Message
from redis.asyncio import Redis

from academy_gateway_bot import metrics

log = logging.getLogger(__name__)

_MAX_RETRY_AFTER_S = 60
_MAX_ATTEMPTS = 4


class LearnerUnreachableError(Exception):
    """Telegram refuses to deliver to this chat (the learner blocked the bot or deleted the account)."""


class NotificationSender:
    def __init__(self, bot: Bot, redis: Redis, *, prefix: str, global_per_s: int, per_chat_per_s: int) -> None:
        self.bot = bot
        self.redis = redis
        self.prefix = prefix
        self.global_per_s = global_per_s
        self.per_chat_per_s = per_chat_per_s

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Message:
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            await self._acquire(chat_id)
            try:
                message = await self.bot.send_message(chat_id, text, **kwargs)
            except TelegramRetryAfter as exc:
                metrics.TELEGRAM_RETRY_AFTER.inc()
                if attempt == _MAX_ATTEMPTS or exc.retry_after > _MAX_RETRY_AFTER_S:
                    raise
                log.info("telegram asked to slow down", extra={"retry_after": exc.retry_after, "chat_id": chat_id})
                await asyncio.sleep(exc.retry_after)
                continue
            except TelegramForbiddenError as exc:
                raise LearnerUnreachableError(str(exc)) from exc
            metrics.MESSAGES_SENT.inc()
            return message
        raise AssertionError("unreachable")  # pragma: no cover

    async def _acquire(self, chat_id: int) -> None:
        """Wait for a slot in both the global and the chat's one-second window."""
        while True:
            second = int(time.time())
            global_key = f"{self.prefix}tg:rate:global:{second}"
            chat_key = f"{self.prefix}tg:rate:chat:{chat_id}:{second}"
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(global_key)
                pipe.expire(global_key, 2)
                pipe.incr(chat_key)
                pipe.expire(chat_key, 2)
                global_count, _, chat_count, _ = await pipe.execute()
            if global_count <= self.global_per_s and chat_count <= self.per_chat_per_s:
                return
            metrics.SEND_THROTTLED.inc()
            await asyncio.sleep(max(0.01, second + 1 - time.time()))
