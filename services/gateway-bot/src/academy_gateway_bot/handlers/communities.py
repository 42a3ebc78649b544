"""Community chats: the learner's city, and the professions of their courses (every one before a first course)."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from academy_gateway_bot import keyboards
from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.context import LearnerCtx
from academy_gateway_bot.i18n import _, button_filter
from academy_gateway_bot.screens import escape, not_registered, short, show

# The catalog takes at most this many categories in one query.
MAX_CATEGORIES_PER_QUERY = 20
# One message holds 4096 characters: that many chats with their short descriptions fit.
MAX_SHOWN = 25
DESCRIPTION_CHARS = 120


async def communities_command(message: Message, learner: LearnerCtx | None, clients: ServiceClients) -> None:
    if learner is None:
        await not_registered(message)
        return
    courses = await clients.progress.get(f"/internal/learners/{learner.user_id}/courses")
    categories = list(dict.fromkeys(c["category"] for c in courses if c.get("category")))
    found = await matching_communities(clients, learner.city, categories)
    items = [c for c in found if c.get("telegram_link")][:MAX_SHOWN]
    if not items:
        await show(message, _("communities-empty"))
        return
    text = _("communities-title")
    for community in items:
        about = community.get("description")
        description = f"\n{escape(short(str(about), DESCRIPTION_CHARS))}" if about else ""
        text += "\n\n" + _(
            "communities-line",
            icon=keyboards.community_icon(community),
            title=escape(community["title"]),
            description=description,
        )
    await show(message, text, keyboards.communities(items))


async def matching_communities(
    clients: ServiceClients, city: str | None, categories: list[str]
) -> list[dict[str, Any]]:
    """The chats of the city (first) and of the categories; with no category yet, of every profession."""
    if categories:
        params: dict[str, Any] = {"category": categories[:MAX_CATEGORIES_PER_QUERY]}
        if city:
            params["city"] = city
        found: list[dict[str, Any]] = await clients.catalog.get("/internal/communities", params=params)
        return found
    # No filter is every chat, city chats first: keep this city's and the professions'.
    everything: list[dict[str, Any]] = await clients.catalog.get("/internal/communities")
    city_key = city.casefold() if city else None
    return [
        c
        for c in everything
        if c["type"] != "city" or (city_key is not None and str(c.get("city") or "").casefold() == city_key)
    ]


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="communities")
    router.message.register(communities_command, Command("communities"))
    router.message.register(communities_command, button_filter("menu-communities"))
    return router
