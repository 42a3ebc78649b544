"""/start: register the Telegram user as a learner (once) and greet them."""

from __future__ import annotations

import html

from academy_runtime.db import transaction
from academy_runtime.resources import Resources
from aiogram import Router
from aiogram.filters import CommandStart
from aiogram.types import Message

from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.i18n import locale_for, t
from academy_gateway_bot.learners import remember_learner


async def start(message: Message, clients: ServiceClients, resources: Resources, idempotency_key: str) -> None:
    user = message.from_user
    if user is None or user.is_bot:
        return
    locale = locale_for(user.language_code)
    registration = await clients.users.post(
        "/internal/users/register",
        json={"telegram_id": user.id, "username": user.username, "locale": locale},
        idempotency_key=f"{idempotency_key}:register",
    )
    learner = registration["learner"]
    async with transaction(resources.sessionmaker) as session:
        await remember_learner(session, user_id=learner["id"], telegram_id=user.id, locale=learner["locale"])
    key = "welcome.new" if registration["created"] else "welcome.back"
    await message.answer(t(key, learner["locale"], name=html.escape(user.first_name)))


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="start")
    router.message.register(start, CommandStart())
    return router
