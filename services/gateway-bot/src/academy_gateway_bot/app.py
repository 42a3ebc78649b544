"""The Telegram gateway: turns updates into commands to the services and events into messages."""

from __future__ import annotations

from academy_runtime.cli import service_main
from academy_runtime.http import create_app as _create_app
from academy_runtime.service import ServiceDefinition
from fastapi import FastAPI

from academy_gateway_bot.bot import open_bot_runtime
from academy_gateway_bot.broadcasts.endpoints import router as broadcasts_router
from academy_gateway_bot.broadcasts.jobs import send_broadcasts
from academy_gateway_bot.models import Base, messaging
from academy_gateway_bot.notifications.consumers import learner_directory, notifications
from academy_gateway_bot.notifications.delivery import send_notifications
from academy_gateway_bot.polling import receive_telegram_updates
from academy_gateway_bot.settings import GatewaySettings
from academy_gateway_bot.telegram_responses import warm_up_telegram_models
from academy_gateway_bot.webhook.endpoints import router as webhook_router

service = ServiceDefinition(
    name="gateway_bot",
    description="Telegram gateway: webhook/polling, conversation state, notifications and broadcasts.",
    settings_factory=GatewaySettings,
    metadata=Base.metadata,
    messaging=messaging,
    migrations="academy_gateway_bot:migrations",
    routers=[webhook_router, broadcasts_router],
    consumers=[learner_directory, notifications],
    on_startup=[open_bot_runtime],
    on_api_startup=[warm_up_telegram_models],  # the worker warms up in `receive_telegram_updates`
    worker_jobs=[receive_telegram_updates, send_notifications, send_broadcasts],
)


def create_app() -> FastAPI:
    return _create_app(service)


main = service_main(lambda: service)
