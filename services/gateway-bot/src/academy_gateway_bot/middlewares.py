"""Update-level middlewares: the update's trace, de-duplication, idempotency key, per-user throttling, error
replies."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from academy_runtime.errors import DependencyUnavailableError
from academy_runtime.resources import RedisClient
from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, Message, TelegramObject, Update
from aiogram.types.update import UpdateTypeLookupError
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from academy_gateway_bot import metrics, redis_keys
from academy_gateway_bot.i18n import _
from academy_gateway_bot.learners import mark_reachable
from academy_gateway_bot.screens import tell_failure

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

_DONE_TTL_S = 24 * 3600
_CLAIM_TTL_S = 300

_TRACER = "academy_gateway_bot.updates"
UNKNOWN_UPDATE_TYPE = "unknown"
"""`telegram.update.type` of an update of no kind aiogram knows (a newer Bot API's)."""


def update_type(update: Update) -> str:
    """The update's kind as the Bot API names its field (`message`, `callback_query`...), or
    `UNKNOWN_UPDATE_TYPE` for one aiogram cannot read."""
    try:
        return update.event_type
    except UpdateTypeLookupError:
        return UNKNOWN_UPDATE_TYPE


@contextlib.contextmanager
def update_span(update: Update) -> Iterator[Span]:
    """The span of handling one Telegram update, current while it is handled: every span the update causes
    (the ServiceClient calls, the services' requests, the events they publish and the consumers downstream,
    the notifications those send) is in its trace (issue 12: "one Telegram update is one trace").

    Named `telegram.update <type>`, kind CONSUMER (OpenTelemetry's messaging conventions: the processing of
    a received message), a child of the current span: the webhook request's server span in webhook mode, a
    root in long polling. Attributes: `telegram.update.id`, `telegram.update.type`, the messaging ones
    (`messaging.system` = telegram, `messaging.operation.type` = process, `messaging.message.id`); the
    handler and command are added by `UpdateHandlerAttributes` once a handler is chosen. No personal data:
    no text, names, phone or chat id (a learner's Telegram id is personal data, see `identity_digest`).
    An exception escaping the handling is recorded on the span, which is then marked as an error.
    """
    kind = update_type(update)
    with trace.get_tracer(_TRACER).start_as_current_span(
        f"telegram.update {kind}",
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "telegram",
            "messaging.operation.type": "process",
            "messaging.message.id": str(update.update_id),
            "telegram.update.id": update.update_id,
            "telegram.update.type": kind,
        },
    ) as span:
        yield span


class UpdateHandlerAttributes(BaseMiddleware):
    """An inner middleware (on every event observer of the dispatcher, so on every router): names on the
    update's span (`update_span`) the handler that takes the update (`telegram.handler`, the function's
    module and qualified name) and, for a command, the command (`telegram.command`, without its `/` and
    without its arguments, which may be anything the learner typed)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        span = trace.get_current_span()
        if span.is_recording():
            chosen = data.get("handler")
            callback = getattr(chosen, "callback", None)
            if callback is not None:
                name = getattr(callback, "__qualname__", type(callback).__qualname__)
                span.set_attribute("telegram.handler", f"{getattr(callback, '__module__', '')}.{name}")
            command = data.get("command")
            if isinstance(command, CommandObject) and command.command:
                span.set_attribute("telegram.command", command.command)
        return await handler(event, data)


def update_identity(update: Update) -> str:
    """What makes this update unique for good, independent of `update_id`.

    Telegram numbers updates sequentially but restarts the count at a random value after a week
    without updates, and a local Bot API server or emulator restarts it with the process; an
    `update_id` therefore names an update only for a while. The identity is taken from the object
    the update carries: a message is unique per (chat, message_id) at Telegram, and with its date also
    across a restarted local Bot API server (an edit adds its `edit_date`); callback, pre-checkout,
    shipping and inline queries have globally unique ids; anything else is named by a digest of its
    content (a retried delivery carries the same content).
    """
    event = update.event
    kind = update.event_type
    if isinstance(event, Message):
        # The date too: a Bot API server or emulator that lost its state numbers a chat's messages
        # from 1 again, and a new message must not pass for one handled before the restart.
        edited = f":{event.edit_date}" if event.edit_date else ""
        sent = int(event.date.timestamp())
        return f"{kind}:{event.chat.id}:{event.message_id}:{sent}{edited}"
    event_id = getattr(event, "id", None)
    if isinstance(event_id, str) and event_id:
        return f"{kind}:{event_id}"
    content = update.model_dump_json(exclude={"update_id"}, exclude_none=True)
    return f"{kind}:{hashlib.sha256(content.encode()).hexdigest()[:32]}"


def identity_digest(identity: str) -> str:
    """The update's identity as 128 bits of SHA-256: what names it in Redis and in the services'
    idempotency keys, which then hold no chat id (a learner's Telegram id is personal data, and the
    services keep idempotency keys with payments and audit entries long after the learner is erased)."""
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


class UpdateDeduplication(BaseMiddleware):
    """Handle each update once, even when a webhook is retried or two processes poll.

    The update is claimed in Redis before handling and marked done after; a failure releases the
    claim so Telegram's retry is handled. Every command the update causes carries an idempotency key
    derived from it, so even a lost claim cannot make a service act twice. Both are derived from
    `update_identity`, never from `update_id` alone, so they cannot collide after the update counter
    restarts (a restarted Bot API server, or Telegram after a quiet week); both carry its digest
    (`identity_digest`), not the identity, which names the chat.
    """

    def __init__(self, redis: RedisClient, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        bot = data["bot"]
        digest = identity_digest(update_identity(event))
        key = redis_keys.update_handled(self.prefix, bot.id, digest)
        if not await self.redis.set(key, "processing", nx=True, ex=_CLAIM_TTL_S):
            metrics.UPDATES.labels("duplicate").inc()
            return None
        data["idempotency_key"] = f"tg:{bot.id}:{digest}"
        try:
            result = await handler(event, data)
        except BaseException:
            await self.redis.delete(key)
            metrics.UPDATES.labels("failed").inc()
            raise
        await self.redis.set(key, "done", ex=_DONE_TTL_S)
        metrics.UPDATES.labels("handled").inc()
        return result


def _records_money(event: TelegramObject) -> bool:
    """Telegram's word that a payment was taken: never dropped, whatever the learner did before it."""
    return isinstance(event, Message) and event.successful_payment is not None


class Throttling(BaseMiddleware):
    """At most N messages/callbacks a minute per user; the excess gets one polite warning."""

    def __init__(self, redis: RedisClient, prefix: str, per_minute: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.per_minute = per_minute

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        if user is None or _records_money(event):
            return await handler(event, data)
        key = redis_keys.throttle(self.prefix, user.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 60, nx=True)
            count, _expiry_set = await pipe.execute()
        if count > self.per_minute:
            metrics.UPDATES.labels("throttled").inc()
            text = _("error-throttled")
            if isinstance(event, CallbackQuery):
                # Every press is answered, or the learner's button spins until Telegram gives up.
                with contextlib.suppress(TelegramBadRequest):
                    await event.answer(text if count == self.per_minute + 1 else None)
            elif count == self.per_minute + 1 and isinstance(event, Message):
                await event.answer(text)
            return None
        return await handler(event, data)


class FriendlyErrors(BaseMiddleware):
    """A service that is down gets the learner a clear message, and the update is retried later. A button
    press hears it as the answer, or as a message when its handler had answered it before the failure
    (`screens.tell_failure`).

    A learner who blocked the bot while their update was being handled (Telegram answers 403 to the
    reply) is marked unreachable, like a 403 to a notification; the update is done, not an error:
    nothing can be said to them until they unblock (`my_chat_member`) or write /start.

    An answer Telegram's flood control refused (a 429 still there after `RetryAfterOnce` waited once, or
    a `retry_after` longer than it waits) ends the update too, logged as a warning: whatever the update did
    is done, and anything more said to the chat now («try again», which would also be untrue) would be
    refused as well. A press still unanswered is answered silently by `AnswerEveryCallback`.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except DependencyUnavailableError:
            if isinstance(event, CallbackQuery):
                # Its handler may have answered the press already: a second answer would be refused.
                await tell_failure(event, _("error-temporary"))
            elif isinstance(event, Message):
                await event.answer(_("error-temporary"))
            raise
        except TelegramForbiddenError:
            user = data.get("event_from_user")
            if user is not None:
                await mark_reachable(data["resources"], user.id, reachable=False)
            metrics.UPDATES.labels("unreachable").inc()
            return None
        except TelegramRetryAfter as exc:
            log.warning(
                "an answer was refused by telegram's flood control",
                extra={"retry_after": exc.retry_after, "method": exc.method.__api_method__},
            )
            metrics.UPDATES.labels("flood_controlled").inc()
            return None
