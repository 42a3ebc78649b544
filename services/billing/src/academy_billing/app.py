"""The billing service: payments, the coins wallet and its ledger, course purchases and prices."""

from __future__ import annotations

from academy_runtime.auth import TokenCache
from academy_runtime.cli import service_main
from academy_runtime.client import ServiceClient
from academy_runtime.http import create_app as _create_app
from academy_runtime.resources import Resources
from academy_runtime.service import ServiceDefinition
from fastapi import FastAPI

from academy_billing.learners.consumers import learner_registry
from academy_billing.models import Base, messaging
from academy_billing.payments.endpoints import learners, operators, stars, webhooks
from academy_billing.payments.providers import TelegramStarsClient, YooKassaClient
from academy_billing.payments.reconciliation import reconciliation_job
from academy_billing.payments.service import Providers
from academy_billing.prices.consumers import catalog_prices
from academy_billing.settings import BillingSettings
from academy_billing.wallet.consumers import achievement_rewards
from academy_billing.wallet.endpoints import router as wallet_router


async def open_providers(resources: Resources) -> None:
    """The payment providers' clients and the users service's (for a receipt's phone), per process."""
    settings = resources.settings_as(BillingSettings)
    tokens = TokenCache.from_settings(settings)
    resources.extras["providers"] = Providers(
        yookassa=YooKassaClient.create(
            settings.yookassa_api_url,
            settings.yookassa_shop_id,
            settings.yookassa_secret_key.get_secret_value(),
            timeout_s=settings.yookassa_timeout_s,
        ),
        stars=TelegramStarsClient.create(settings.telegram_api_url, settings.telegram_bot_token.get_secret_value()),
        users=ServiceClient("users", settings.users_url, tokens),
    )


service = ServiceDefinition(
    name="billing",
    description="Payments (YooKassa, Telegram Stars), the coins wallet and its ledger, course purchases.",
    settings_factory=BillingSettings,
    metadata=Base.metadata,
    messaging=messaging,
    migrations="academy_billing:migrations",
    routers=[wallet_router, learners, stars, operators, webhooks],
    consumers=[achievement_rewards, catalog_prices, learner_registry],
    on_startup=[open_providers],
    worker_jobs=[reconciliation_job],
)


def create_app() -> FastAPI:
    return _create_app(service)


main = service_main(lambda: service)
