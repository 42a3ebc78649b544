"""The billing service: payments, the coins wallet and its ledger, course purchases and prices."""

from __future__ import annotations

from academy_runtime.cli import service_main
from academy_runtime.http import create_app as _create_app
from academy_runtime.service import ServiceDefinition
from fastapi import FastAPI

from academy_billing.models import Base, messaging
from academy_billing.prices.consumers import catalog_prices
from academy_billing.settings import BillingSettings
from academy_billing.wallet.consumers import achievement_rewards
from academy_billing.wallet.endpoints import router as wallet_router

service = ServiceDefinition(
    name="billing",
    description="Payments (YooKassa, Telegram Stars), the coins wallet and its ledger, course purchases.",
    settings_factory=BillingSettings,
    metadata=Base.metadata,
    messaging=messaging,
    migrations="academy_billing:migrations",
    routers=[wallet_router],
    consumers=[achievement_rewards, catalog_prices],
)


def create_app() -> FastAPI:
    return _create_app(service)


main = service_main(lambda: service)
