from __future__ import annotations

from typing import Self

from academy_runtime.settings import ServiceSettings
from pydantic import Field, SecretStr, model_validator

DEV_YOOKASSA_SECRET_KEY = "dev-yookassa-secret-change-me"  # noqa: S105 - refused outside development

DEFAULT_LOW_BALANCE_THRESHOLD_COINS = 100


class BillingSettings(ServiceSettings):
    service_name: str = "billing"
    db_schema: str = "billing"
    http_port: int = 8105
    worker_metrics_port: int = 9105
    database_url: str = "postgresql+asyncpg://academy_billing@127.0.0.1:5432/beauty_academy"

    # YooKassa (RUB web payments and top-ups). The default URL is the project's local payment-provider
    # emulator; production sets https://api.yookassa.ru/v3.
    yookassa_shop_id: str = "academy-dev-shop"
    yookassa_secret_key: SecretStr = SecretStr(DEV_YOOKASSA_SECRET_KEY)
    yookassa_api_url: str = "http://127.0.0.1:8181"

    # Coins wallet
    low_balance_threshold_coins: int = Field(
        default=DEFAULT_LOW_BALANCE_THRESHOLD_COINS,
        gt=0,
        description="Threshold given to new wallets; billing.balance_low.v1 fires when a debit crosses it.",
    )
    coins_per_rub: int = Field(default=1, gt=0, description="Coins credited per rouble of a top-up.")
    achievement_coins_per_point: int = Field(
        default=1, ge=0, description="Coins credited per point of an unlocked achievement; 0 turns rewards off."
    )

    @model_validator(mode="after")
    def _refuse_default_yookassa_secret_outside_development(self) -> Self:
        if not self.is_development and self.yookassa_secret_key.get_secret_value() == DEV_YOOKASSA_SECRET_KEY:
            raise ValueError(
                "YOOKASSA_SECRET_KEY still holds the development default; set the shop's secret key "
                "(only ENVIRONMENT=development accepts it)"
            )
        return self
