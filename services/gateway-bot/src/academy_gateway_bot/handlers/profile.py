"""/profile: the learner's card with points and level, read from users and gamification."""

from __future__ import annotations

import html

from academy_runtime.errors import NotFoundError
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.i18n import locale_for, t


async def profile(message: Message, clients: ServiceClients) -> None:
    user = message.from_user
    if user is None:
        return
    try:
        learner = await clients.users.get(f"/internal/users/by-telegram/{user.id}")
    except NotFoundError:
        await message.answer(t("profile.not_registered", locale_for(user.language_code)))
        return
    locale = learner["locale"]
    points = await clients.gamification.get(f"/internal/learners/{learner['id']}/points")
    unknown = t("value.unknown", locale)
    await message.answer(
        t(
            "profile.card",
            locale,
            name=html.escape(learner["full_name"] or user.full_name),
            city=html.escape(learner["city"] or unknown),
            points=points["total_points"],
            level=points["level"],
        )
    )


async def help_command(message: Message) -> None:
    user = message.from_user
    await message.answer(t("help", locale_for(user.language_code if user else None)))


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="profile")
    router.message.register(profile, Command("profile"))
    router.message.register(help_command, Command("help"))
    return router
