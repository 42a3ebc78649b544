"""What the gateway holds for Telegram while it runs (the Bot, the Dispatcher, the service clients and the
notification sender), kept in `Resources.extras["bot"]`.

A module of its own, below both the dispatcher's wiring (`bot.py`, which imports every handler) and
the event consumers, so that neither imports the other.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from academy_runtime.resources import Resources
from aiogram import Bot, Dispatcher

from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.notifications.sender import NotificationSender


@dataclass
class BotRuntime:
    """Everything the gateway holds for Telegram, opened in the lifespan and closed with it."""

    bot: Bot
    dispatcher: Dispatcher
    clients: ServiceClients
    sender: NotificationSender
    # Rung when this process queued a notification (after its commit) or finished sending one: the delivery
    # job (`notifications.delivery`) looks at the queue at once instead of at its next poll.
    notifications_queued: asyncio.Event = field(default_factory=asyncio.Event)

    async def aclose(self) -> None:
        await self.clients.aclose()
        await self.bot.session.close()


def bot_runtime(resources: Resources) -> BotRuntime:
    """The runtime `open_bot_runtime` stored in the lifespan; TypeError when it is missing (a wiring bug)."""
    runtime = resources.extras.get("bot")
    if not isinstance(runtime, BotRuntime):
        raise TypeError("the bot runtime is not open (open_bot_runtime in the lifespan)")
    return runtime
