"""One sender for every message the platform pushes to learners, within Telegram's limits.

Limits are shared by every gateway process through Redis: at most `send_rate_global_per_s`
messages in any one second overall and `send_rate_per_chat_per_s` per chat (sliding windows).
A 429 from Telegram is honoured: the sender waits `retry_after` and tries again; a learner who
blocked the bot is reported, not retried.

The bot's other requests, its answers to a learner's update, do not wait for the windows (an answer
must come at once; Telegram tolerates a short burst in a chat), but a 429 on one is honoured too:
`RetryAfterOnce`, a request middleware of the bot's session, makes it again once after `retry_after`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from functools import partial
from typing import TYPE_CHECKING, Any

from academy_runtime.resources import RedisClient
from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Message
from redis.commands.core import AsyncScript
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from academy_gateway_bot import metrics, redis_keys

if TYPE_CHECKING:
    from academy_gateway_bot.settings import GatewaySettings

log = logging.getLogger(__name__)

_MAX_RETRY_AFTER_S = 60

# Telegram counts messages when they arrive, we count them when we send: two sends exactly a second
# apart can arrive less than a second apart when the first one was slower on the way. The window is
# a little longer than a second so that this jitter never earns a 429.
_WINDOW_MS = 1100

# Sliding windows kept as sorted sets of send times (ms), checked and reserved atomically for every
# gateway process at once. Returns 0 when a slot was taken, else the milliseconds to wait. A send is stamped
# with Redis's clock when the script runs (`TIME`), not with the caller's: gateway processes on hosts whose
# clocks disagree share one timeline, and a caller whose event loop is busy does not stamp a send with the
# moment it *meant* to reserve it (earlier than the reservation, so the slot would leave the window early and
# the sends after it bunch at arrival: the broadcast bench counted 302-304 arrivals in a second against 300). The global
# window and the chat's share the `{send}` hash tag (redis_keys), so on a Redis Cluster the script's two
# keys are on one slot.
#
# The global window is also smoothed: at most ceil(limit / SLICES) sends in any 1/SLICES of the window.
# Without it a whole second's allowance can be reserved in a few milliseconds at the start of the window,
# and the next one right at its end; a request delayed on the way then lands in the same second as the
# next burst, and Telegram counts more than the limit on arrival (the broadcast bench saw 321 arrivals in
# one second against 300 on a loaded machine). Spread out, a burst cannot form, so arrival jitter moves a
# few sends across a second's edge, not a whole window's worth. The average rate stays the same.
_SLIDING_WINDOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local limits = {tonumber(ARGV[1]), tonumber(ARGV[2])}
local window = tonumber(ARGV[4])
local slices = tonumber(ARGV[5])
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limits[i] then
    local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
    wait = math.max(wait, oldest + window - now + 1)
  end
  if i == 1 and slices > 1 then
    local slice = math.floor(window / slices)
    local in_slice = redis.call('ZRANGEBYSCORE', key, '(' .. (now - slice), '+inf', 'WITHSCORES')
    if #in_slice / 2 >= math.ceil(limits[1] / slices) then
      wait = math.max(wait, tonumber(in_slice[2]) + slice - now + 1)
    end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, 2000)
end
return 0
"""
_SLICES = 10

REFUSED_FOR_GOOD = (TelegramBadRequest, TelegramNotFound, TelegramMigrateToChat, TelegramEntityTooLarge)
"""Telegram refused this message for this chat for good ("chat not found", a text it cannot parse): sending
it again changes nothing."""
BOT_UNUSABLE = (TelegramUnauthorizedError, TelegramConflictError)
"""The Bot API refuses the bot itself (401: the token is revoked; 409: a webhook/polling conflict): nobody can
be sent to until an operator fixes it."""
MAX_ATTEMPTS = 4
"""How many 429s a send waits out before TelegramRetryAfter reaches its caller (`deliver`'s default)."""


INTERACTIVE_RETRY_AFTER_MAX_S = 5
"""The longest `retry_after` an answer to a learner's update waits out (`RetryAfterOnce`): past it the learner
has moved on, and the update fails as it did before (a press still unanswered is answered «try again»)."""

_PACED_BY_CALLER: ContextVar[bool] = ContextVar("_PACED_BY_CALLER", default=False)
"""Set while `NotificationSender.deliver` makes its call: it handles a 429 itself (waits, or defers the
message), so `RetryAfterOnce` leaves the request alone."""


class LearnerUnreachableError(Exception):
    """Telegram refuses to deliver to this chat (the learner blocked the bot or deleted the account)."""


class NotificationSender:
    def __init__(self, bot: Bot, redis: RedisClient, *, prefix: str, global_per_s: int, per_chat_per_s: int) -> None:
        self.bot = bot
        self.redis = redis
        self.prefix = prefix
        self.global_per_s = global_per_s
        self.per_chat_per_s = per_chat_per_s
        self._script: AsyncScript | None = None

    @classmethod
    def from_settings(cls, bot: Bot, redis: RedisClient, settings: GatewaySettings) -> NotificationSender:
        """The sender of a gateway process: its Redis prefix and the `SEND_RATE_*` limits."""
        return cls(
            bot,
            redis,
            prefix=settings.redis_prefix,
            global_per_s=settings.send_rate_global_per_s,
            per_chat_per_s=settings.send_rate_per_chat_per_s,
        )

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Message:
        """`sendMessage` within the limits (retried after a 429's `retry_after`, up to 4 attempts, a
        `retry_after` of at most 60 s; else TelegramRetryAfter); LearnerUnreachableError for a 403."""
        return await self.deliver(chat_id, lambda: self.bot.send_message(chat_id, text, **kwargs))

    async def deliver(
        self, chat_id: int, call: Callable[[], Awaitable[Message]], *, attempts: int = MAX_ATTEMPTS
    ) -> Message:
        """Make the Bot API `call` to `chat_id` once both send windows have room, as `send_message` does.
        `attempts`: how many 429s are waited out here before TelegramRetryAfter is raised; 1 hands the first
        one to the caller (a broadcast puts the recipient back with `not_before` instead of waiting here, so
        a pause or a cancel meanwhile is obeyed and a stop loses nothing)."""
        for attempt in range(1, attempts + 1):
            await self._acquire(chat_id)
            paced = _PACED_BY_CALLER.set(True)
            try:
                message = await call()
            except TelegramRetryAfter as exc:
                metrics.TELEGRAM_RETRY_AFTER.inc()
                if attempt == attempts or exc.retry_after > _MAX_RETRY_AFTER_S:
                    raise
                log.info("telegram asked to slow down", extra={"retry_after": exc.retry_after, "chat_id": chat_id})
                await asyncio.sleep(exc.retry_after)
                continue
            except TelegramForbiddenError as exc:
                raise LearnerUnreachableError(str(exc)) from exc
            finally:
                _PACED_BY_CALLER.reset(paced)
            metrics.MESSAGES_SENT.inc()
            return message
        raise AssertionError("unreachable")  # pragma: no cover

    async def _acquire(self, chat_id: int) -> None:
        """Wait until both the global and the chat's sliding one-second window have room."""
        global_key = redis_keys.global_send_window(self.prefix)
        chat_key = redis_keys.chat_send_window(self.prefix, chat_id)
        while True:
            wait_ms = await self._reserve(
                keys=[global_key, chat_key],
                args=[
                    self.global_per_s,
                    self.per_chat_per_s,
                    secrets.token_hex(8),
                    _WINDOW_MS,
                    _SLICES,
                ],
            )
            if int(wait_ms) <= 0:
                return
            metrics.SEND_THROTTLED.inc()
            await asyncio.sleep(int(wait_ms) / 1000)

    @property
    def _reserve(self) -> AsyncScript:
        if self._script is None:
            self._script = self.redis.register_script(_SLIDING_WINDOW)
        return self._script


def _waitable_retry_after(exc: BaseException) -> bool:
    if not isinstance(exc, TelegramRetryAfter):
        return False
    metrics.TELEGRAM_RETRY_AFTER.inc()
    return exc.retry_after <= INTERACTIVE_RETRY_AFTER_MAX_S


def _retry_after(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome is not None else None
    return float(exc.retry_after) if isinstance(exc, TelegramRetryAfter) else 0.0


def _log_retry(method: TelegramMethod[Any], state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome is not None else None
    log.info(
        "telegram asked to slow down; the answer is sent again after retry_after",
        extra={"retry_after": getattr(exc, "retry_after", None), "method": method.__api_method__},
    )


class RetryAfterOnce(BaseRequestMiddleware):
    """A request of the bot refused with a 429 (Telegram's flood control: «Too Many Requests: retry after N») is
    made again, once, after the `retry_after` seconds Telegram asked for, when that is at most
    `INTERACTIVE_RETRY_AFTER_MAX_S`; otherwise, or when the second attempt is refused too, TelegramRetryAfter
    reaches the caller as before. Telegram did not carry out a refused request, so making it again duplicates
    nothing.

    Before it, a learner's answer (the catalog, an edited screen, a press's answer) that met a 429 was lost:
    the learner saw nothing. Left alone: requests `NotificationSender.deliver` makes (it waits or defers a
    message itself) and `getUpdates` (aiogram's polling backs off on its own). A request middleware of the
    bot's session (`bot.create_bot`); the retry is tenacity's."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if _PACED_BY_CALLER.get() or isinstance(method, GetUpdates):
            return await make_request(bot, method)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(2),
            wait=_retry_after,
            retry=retry_if_exception(_waitable_retry_after),
            before_sleep=partial(_log_retry, method),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                response = await make_request(bot, method)
        return response
