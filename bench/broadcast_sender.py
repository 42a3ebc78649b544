"""`python -m bench.broadcast_sender`: the gateway's broadcast delivery alone in a process, for the broadcast
suite to start and SIGKILL. The gateway's settings come from the environment (as `academy-gateway-bot worker`
reads them); the code path is the worker job's (`BroadcastDelivery` + `NotificationSender`), without the
polling and consumers the rest of the worker runs. Exits 0 once no broadcast is sending."""

from __future__ import annotations

import asyncio
import logging
import sys

from academy_gateway_bot.bot import create_bot
from academy_gateway_bot.broadcasts.delivery import BroadcastDelivery, DeliveryPolicy
from academy_gateway_bot.models import Broadcast
from academy_gateway_bot.notifications.sender import NotificationSender
from academy_gateway_bot.settings import GatewaySettings
from academy_runtime.resources import Resources
from sqlalchemy import func, select


async def main() -> int:
    settings = GatewaySettings()
    resources = Resources.open(settings)
    bot = create_bot(settings)
    sender = NotificationSender.from_settings(bot, resources.redis, settings)
    delivery = BroadcastDelivery(resources.sessionmaker, sender, None, DeliveryPolicy.from_settings(settings))
    try:
        while True:
            worked = await delivery.step()
            async with resources.sessionmaker() as session:
                open_ = select(func.count()).where(Broadcast.status.in_(("sending", "scheduled")))
                if not (await session.execute(open_)).scalar_one():
                    return 0
            if not worked:
                await asyncio.sleep(0.2)
    finally:
        await bot.session.close()
        await resources.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    sys.exit(asyncio.run(main()))
