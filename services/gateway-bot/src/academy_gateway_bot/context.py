"""Who is talking to the bot: the registered learner behind an update, or None before registration.

Every message and callback handler receives `learner: LearnerCtx | None`, and the update's
`I18nContext` is switched to the learner's chosen language (it starts with the one Telegram reports,
which stays for someone not registered yet). The learner
is read from the users service and cached briefly in Redis; whatever changes the profile or the
language calls `forget_learner` so the next update sees the change.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from academy_runtime.resources import RedisClient
from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from aiogram_i18n import I18nContext

from academy_gateway_bot import redis_keys
from academy_gateway_bot.clients import Account, ServiceClients

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

# Short enough that a change made outside the bot (an operator, another gateway process) shows soon.
LEARNER_CACHE_TTL_S = 60


@dataclass(frozen=True)
class LearnerCtx:
    """The registered learner behind an update (from the users service), cached in Redis: the display
    name («Анна П.») only, never the full name (a screen that shows the full name asks users for it)."""

    user_id: int
    telegram_id: int
    locale: str
    display_name: str | None
    city: str | None

    @classmethod
    def from_account(cls, account: Account) -> LearnerCtx:
        return cls(
            user_id=account.id,
            telegram_id=account.telegram_id,
            locale=account.locale,
            # A users service from before display names answers the full name only: its first word, then.
            display_name=account.display_name or (account.full_name.split()[0] if account.full_name else None),
            city=account.city,
        )


async def load_learner(redis: RedisClient, prefix: str, clients: ServiceClients, telegram_id: int) -> LearnerCtx | None:
    """The learner with this Telegram id, or None when they have not registered (not cached: a
    registration must show at once)."""
    cached = await redis.get(redis_keys.learner_context(prefix, telegram_id))
    if cached:
        try:
            return LearnerCtx(**json.loads(cached))
        except TypeError:  # cached by an older release (another shape): ask users again
            pass
    account = await clients.users.find_by_telegram(telegram_id)
    if account is None or not account.consent_personal_data:
        # None, or an account from before consent was asked for: it registers through the conversation.
        return None
    learner = LearnerCtx.from_account(account)
    await remember_in_cache(redis, prefix, learner)
    return learner


async def remember_in_cache(redis: RedisClient, prefix: str, learner: LearnerCtx) -> None:
    await redis.set(
        redis_keys.learner_context(prefix, learner.telegram_id), json.dumps(asdict(learner)), ex=LEARNER_CACHE_TTL_S
    )


async def forget_learner(redis: RedisClient, prefix: str, telegram_id: int) -> None:
    """Drop the cached learner after their profile or language changed."""
    await redis.delete(redis_keys.learner_context(prefix, telegram_id))


class LearnerContext(BaseMiddleware):
    """Injects `learner` (LearnerCtx, or None = not registered) into message and callback handlers and
    renders their texts in the learner's language. Registered as an inner middleware, so only updates
    some handler takes cost a lookup."""

    def __init__(self, redis: RedisClient, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        learner: LearnerCtx | None = None
        if user is not None and not user.is_bot:
            learner = await load_learner(self.redis, self.prefix, data["clients"], user.id)
        data["learner"] = learner
        i18n: I18nContext | None = data.get("i18n")
        if learner is not None and i18n is not None:
            i18n.locale = learner.locale
        return await handler(event, data)
