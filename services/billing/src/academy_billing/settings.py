from __future__ import annotations

from decimal import Decimal
from ipaddress import ip_network
from typing import Self

from academy_runtime.settings import ServiceSettings
from pydantic import Field, SecretStr, field_validator, model_validator
from yookassa.domain.common import SecurityHelper

MIN_TOP_UP_RUB = 100
MAX_TOP_UP_RUB = 50_000
"""The range of a YooKassa top-up in whole roubles, as the OpenAPI documents it."""

DEV_YOOKASSA_SECRET_KEY = "dev-yookassa-secret-change-me"  # noqa: S105 - refused outside development

DEV_TELEGRAM_BOT_TOKEN = "123456:TEST-TOKEN"  # noqa: S105 - the Bot API emulator's default bot

DEFAULT_LOW_BALANCE_THRESHOLD_COINS = 100

# The networks YooKassa sends notifications from, as its official SDK publishes them
# (https://yookassa.ru/developers/using-api/webhooks#ip).
YOOKASSA_NETWORKS: tuple[str, ...] = tuple(SecurityHelper.YOOKASSA_NETWORKS)


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
    yookassa_api_url: str = "http://127.0.0.1:8181/v3"
    yookassa_trusted_networks: list[str] = Field(
        default_factory=lambda: list(YOOKASSA_NETWORKS),
        description="CIDRs a notification may come from; anything else is refused before it is read.",
    )
    yookassa_return_url: str = Field(
        default="https://t.me/", description="Where the payer lands after YooKassa's confirmation page."
    )
    yookassa_vat_code: int = Field(
        default=1, ge=1, le=12, description="54-ФЗ VAT code of the receipt's item (1 = без НДС)."
    )
    yookassa_timeout_s: float = Field(default=10.0, gt=0)
    yookassa_pending_timeout_s: int = Field(
        default=900,
        gt=0,
        description="A YooKassa payment still pending this long is re-read by the reconciliation job.",
    )
    reconciliation_interval_s: float = Field(default=60.0, gt=0)
    # Per source address on YooKassa's notifications (academy_runtime.ratelimit): a few per payment.
    rate_limit_routes: dict[str, str] = Field(default_factory=lambda: {"/webhooks/yookassa": "20/second;600/minute"})

    # Telegram Stars: billing refunds Stars through the Bot API itself (refundStarPayment).
    telegram_bot_token: SecretStr = SecretStr(DEV_TELEGRAM_BOT_TOKEN)
    telegram_api_url: str = Field(
        default="", description="Empty: api.telegram.org; else a local Bot API server or the emulator."
    )
    stars_invoice_ttl_s: int = Field(default=1800, gt=0, description="How long a Stars invoice can be paid.")
    stars_top_up_enabled: bool = Field(default=True, description="Learners may top up the wallet with Stars.")
    max_stars_top_up: int = Field(default=10_000, gt=0)

    # Rates used while an operator has not set one (PUT /internal/exchange-rates/{currency}).
    default_stars_per_rub: Decimal = Field(default=Decimal("0.6"), gt=0)
    default_stars_per_usd: Decimal = Field(default=Decimal(50), gt=0)
    default_coins_per_usd: Decimal = Field(default=Decimal(90), gt=0)
    default_coins_per_star: Decimal = Field(default=Decimal("1.5"), gt=0)

    # Top-ups through YooKassa, in whole roubles: a deployment may narrow the range the API documents.
    min_top_up_rub: int = Field(default=MIN_TOP_UP_RUB, ge=MIN_TOP_UP_RUB, le=MAX_TOP_UP_RUB)
    max_top_up_rub: int = Field(default=MAX_TOP_UP_RUB, ge=MIN_TOP_UP_RUB, le=MAX_TOP_UP_RUB)

    users_url: str = Field(default="http://127.0.0.1:8101", description="The users service (a receipt's phone).")

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

    @field_validator("yookassa_trusted_networks")
    @classmethod
    def _networks_parse(cls, value: list[str]) -> list[str]:
        for network in value:
            ip_network(network, strict=False)  # raises ValueError with the bad entry
        return value

    @model_validator(mode="after")
    def _refuse_default_yookassa_secret_outside_development(self) -> Self:
        if not self.is_development and self.yookassa_secret_key.get_secret_value() == DEV_YOOKASSA_SECRET_KEY:
            raise ValueError(
                "YOOKASSA_SECRET_KEY still holds the development default; set the shop's secret key "
                "(only ENVIRONMENT=development accepts it)"
            )
        if self.environment == "production" and self.telegram_bot_token.get_secret_value() == DEV_TELEGRAM_BOT_TOKEN:
            raise ValueError("TELEGRAM_BOT_TOKEN is the emulator's token: billing could not refund Stars")
        if self.min_top_up_rub > self.max_top_up_rub:
            raise ValueError("MIN_TOP_UP_RUB is above MAX_TOP_UP_RUB")
        return self
