"""Emulator settings: the bots it knows, rate limits, webhook retry timing.

Everything has a default that suits tests; the CLI reads ``TG_EMULATOR_*`` environment variables
(see :meth:`EmulatorConfig.from_env`) and its flags override them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_BOT_ID = 123456
DEFAULT_BOT_TOKEN = f"{DEFAULT_BOT_ID}:TEST-TOKEN"
DEFAULT_BOT_USERNAME = "beauty_academy_bot"
DEFAULT_BOT_NAME = "Beauty Academy"

TOKEN_PATTERN = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{1,100}$")


class BotSpec(BaseModel):
    """A bot the emulator answers for: its token, ``@username`` and display name."""

    model_config = ConfigDict(frozen=True)

    token: str
    username: str = DEFAULT_BOT_USERNAME
    first_name: str = DEFAULT_BOT_NAME
    can_join_groups: bool = True
    can_read_all_group_messages: bool = False
    supports_inline_queries: bool = False

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: str) -> str:
        if not TOKEN_PATTERN.match(value):
            raise ValueError("a bot token looks like '<digits>:<letters, digits, _ or ->'")
        return value

    @field_validator("username")
    @classmethod
    def _username_shape(cls, value: str) -> str:
        value = value.removeprefix("@")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", value):
            raise ValueError("a bot username is 4-32 letters, digits or underscores, starting with a letter")
        return value

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])


class RateLimitConfig(BaseModel):
    """Flood control. Off by default; when on, sends over the limits are refused with 429."""

    enabled: bool = False
    per_chat_per_second: int = Field(default=1, ge=1)
    global_per_second: int = Field(default=30, ge=1)
    #: Fixed ``retry_after`` to answer with; by default the seconds until the window frees up (at least 1).
    retry_after: int | None = Field(default=None, ge=1)
    #: Besides the limits: every Nth send within them is refused too (429 with ``injected_retry_after``), the
    #: flood control Telegram applies for reasons of its own; None: never. Needs ``enabled``.
    inject_every: int | None = Field(default=None, ge=2)
    injected_retry_after: int = Field(default=1, ge=1)


class EmulatorConfig(BaseModel):
    """Everything the emulator can be told at start-up."""

    bots: list[BotSpec] = Field(default_factory=lambda: [BotSpec(token=DEFAULT_BOT_TOKEN)])
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    #: First delay before re-posting an update the webhook refused; doubles up to the maximum.
    webhook_retry_initial_delay: float = Field(default=0.5, gt=0)
    webhook_retry_max_delay: float = Field(default=10.0, gt=0)
    webhook_timeout: float = Field(default=10.0, gt=0)
    #: Upper bound for ``getUpdates(timeout=...)``; Telegram holds a long poll for at most 50 s.
    max_long_poll_timeout: float = Field(default=50.0, ge=0)
    #: Timeout for fetching a file a bot sends by HTTP URL.
    url_fetch_timeout: float = Field(default=10.0, gt=0)
    #: How many Bot API calls the call log keeps (oldest dropped first).
    call_log_limit: int = Field(default=10_000, ge=1)
    #: The first update id; ``None`` picks one at random, as Telegram does after a quiet week. A fixed
    #: 1 would make a restarted emulator reuse the ids a bot already saw (and de-duplicates for a day).
    first_update_id: int | None = Field(default=None, ge=1, lt=2**31)

    @property
    def default_bot(self) -> BotSpec:
        return self.bots[0]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EmulatorConfig:
        """Read ``TG_EMULATOR_*`` variables.

        ``TG_EMULATOR_BOT_TOKEN``, ``TG_EMULATOR_BOT_USERNAME``, ``TG_EMULATOR_BOT_NAME`` describe the
        default bot; ``TG_EMULATOR_EXTRA_BOTS`` adds more as ``token=username,token=username``;
        ``TG_EMULATOR_RATE_LIMIT`` (``1``/``true``), ``TG_EMULATOR_RATE_LIMIT_PER_CHAT`` and
        ``TG_EMULATOR_RATE_LIMIT_GLOBAL`` switch flood control on; ``TG_EMULATOR_WEBHOOK_RETRY_INITIAL``
        and ``TG_EMULATOR_WEBHOOK_RETRY_MAX`` set the webhook retry delays in seconds.
        """
        env = os.environ if environ is None else environ
        bots = [
            BotSpec(
                token=env.get("TG_EMULATOR_BOT_TOKEN", DEFAULT_BOT_TOKEN),
                username=env.get("TG_EMULATOR_BOT_USERNAME", DEFAULT_BOT_USERNAME),
                first_name=env.get("TG_EMULATOR_BOT_NAME", DEFAULT_BOT_NAME),
            )
        ]
        for item in filter(None, (part.strip() for part in env.get("TG_EMULATOR_EXTRA_BOTS", "").split(","))):
            token, _, username = item.partition("=")
            bots.append(BotSpec(token=token, username=username or f"bot{token.split(':', 1)[0]}_bot"))
        rate_limit = RateLimitConfig(
            enabled=env.get("TG_EMULATOR_RATE_LIMIT", "").lower() in {"1", "true", "yes", "on"},
            per_chat_per_second=int(env.get("TG_EMULATOR_RATE_LIMIT_PER_CHAT", "1")),
            global_per_second=int(env.get("TG_EMULATOR_RATE_LIMIT_GLOBAL", "30")),
        )
        return cls(
            bots=bots,
            rate_limit=rate_limit,
            webhook_retry_initial_delay=float(env.get("TG_EMULATOR_WEBHOOK_RETRY_INITIAL", "0.5")),
            webhook_retry_max_delay=float(env.get("TG_EMULATOR_WEBHOOK_RETRY_MAX", "10")),
        )
