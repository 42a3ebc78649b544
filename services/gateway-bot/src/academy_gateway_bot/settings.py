from __future__ import annotations

from typing import Literal, Self

from academy_runtime.settings import Environment, ServiceSettings
from pydantic import Field, SecretStr, model_validator

DEV_BOT_TOKEN = "123456:TEST-TOKEN"  # noqa: S105 - the Bot API emulator's default bot
DEV_WEBHOOK_SECRET = "dev-webhook-secret"  # noqa: S105 - refused outside development


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway-bot"
    db_schema: str = "gateway_bot"
    http_port: int = 8106
    worker_metrics_port: int = 9106
    database_url: str = "postgresql+asyncpg://academy_gateway_bot@127.0.0.1:5432/beauty_academy"

    # Without a real token the bot talks to the local Bot API emulator.
    telegram_bot_token: SecretStr = SecretStr(DEV_BOT_TOKEN)
    telegram_api_url: str = ""  # empty: api.telegram.org; else a local Bot API server or the emulator
    bot_mode: Literal["polling", "webhook"] = "polling"
    telegram_webhook_url: str = ""
    telegram_webhook_secret: SecretStr = SecretStr(DEV_WEBHOOK_SECRET)

    users_url: str = "http://127.0.0.1:8101"
    catalog_url: str = "http://127.0.0.1:8102"
    progress_url: str = "http://127.0.0.1:8103"
    gamification_url: str = "http://127.0.0.1:8104"
    billing_url: str = "http://127.0.0.1:8105"

    # Telegram's limits: about 30 messages/s overall and 1/s per chat.
    send_rate_global_per_s: int = 30
    send_rate_per_chat_per_s: int = 1
    throttle_updates_per_minute: int = 40

    # Notifications (`notifications/delivery.py`): the chats sent to at once per worker process (each waits
    # for its chat's send second without a database connection); how often the queue is looked at for rows
    # another process queued and deferred ones come due (this process's own are sent at once); a 429 or a
    # network error is tried again up to the maximum of attempts.
    notification_concurrency: int = Field(default=128, ge=1, le=10000)
    notification_poll_interval_s: float = Field(default=0.5, gt=0)
    notification_max_attempts: int = Field(default=5, ge=1)

    # Broadcasts (issue 12, `broadcasts/delivery.py`): sends in flight per worker process; a claim older than
    # the lease is a sender that stopped mid-send (its rows become `unknown`, never sent twice); announcements
    # wait out the learner's local night (start == end: no quiet hours); a 429 the sender gave up on is tried
    # again up to the maximum of attempts.
    broadcast_concurrency: int = Field(default=32, ge=1, le=1000)
    broadcast_poll_interval_s: float = Field(default=1.0, gt=0)
    broadcast_claim_lease_s: float = Field(default=300.0, ge=0)
    broadcast_quiet_start_hour: int = Field(default=21, ge=0, le=23)
    broadcast_quiet_end_hour: int = Field(default=9, ge=0, le=23)
    broadcast_default_time_zone: str = "Europe/Moscow"
    broadcast_max_attempts: int = Field(default=5, ge=1)
    # An operator's own Telegram chat for previews when the request names none (operator name → chat id).
    broadcast_preview_chats: dict[str, int] = Field(default_factory=dict)
    # Per source address on the webhook (academy_runtime.ratelimit): Telegram may deliver every update
    # of the bot from one address, so this is the bot's ceiling, far above its load.
    rate_limit_routes: dict[str, str] = Field(default_factory=lambda: {"/telegram/webhook": "200/second;6000/minute"})

    # The version of the personal-data consent text (i18n `consent.text`); change it with the text.
    consent_version: str = "2026-11-30"
    # ISO 3166 region a typed phone number without "+" is read in when the learner's Telegram language
    # tag names no region (most learners are in Russia: «8 916 …», «916 …» are Russian numbers).
    default_phone_region: str = Field(default="RU", pattern=r"^[A-Z]{2}$")
    # An abandoned conversation (and the answers it holds) leaves Redis after this long.
    conversation_ttl_s: int = 24 * 3600
    # The users service's AVATAR_MAX_BYTES (its avatar upload refuses a larger body with 413): a file Telegram
    # says is larger, or that downloads larger, is refused in the chat without being sent. Keep the two equal.
    avatar_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Self:
        if self.environment != Environment.DEVELOPMENT:
            if self.telegram_webhook_secret.get_secret_value() == DEV_WEBHOOK_SECRET:
                raise ValueError("TELEGRAM_WEBHOOK_SECRET still holds the development default")
            if self.telegram_bot_token.get_secret_value() == DEV_BOT_TOKEN and not self.telegram_api_url:
                raise ValueError("TELEGRAM_BOT_TOKEN is the emulator's token but TELEGRAM_API_URL is Telegram")
        if self.bot_mode == "webhook" and not self.telegram_webhook_url:
            raise ValueError("BOT_MODE=webhook needs TELEGRAM_WEBHOOK_URL")
        return self
