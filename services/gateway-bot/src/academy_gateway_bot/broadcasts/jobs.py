"""The gateway worker's broadcast job (`ServiceDefinition.worker_jobs`)."""

from __future__ import annotations

from academy_runtime.resources import Resources

from academy_gateway_bot.broadcasts.delivery import BroadcastDelivery, DeliveryPolicy
from academy_gateway_bot.runtime import bot_runtime
from academy_gateway_bot.settings import GatewaySettings


async def send_broadcasts(resources: Resources) -> None:
    """Resolve and send the broadcasts due, until the worker stops (`broadcasts.delivery`)."""
    settings = resources.settings_as(GatewaySettings)
    runtime = bot_runtime(resources)
    delivery = BroadcastDelivery(
        resources.sessionmaker, runtime.sender, runtime.clients, DeliveryPolicy.from_settings(settings)
    )
    await delivery.run(settings.broadcast_poll_interval_s)
