"""Emulator settings: the shop's credentials, where notifications go and how they are retried.

Everything has a default that suits tests; the CLI reads ``YOOKASSA_EMULATOR_*`` environment variables
(see :meth:`YooKassaEmulatorConfig.from_env`) and its flags override them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal

from pydantic import BaseModel, Field

DEFAULT_SHOP_ID = "academy-dev-shop"
DEFAULT_SECRET_KEY = "dev-yookassa-secret-change-me"  # noqa: S105 - a local test double's default
DEFAULT_PORT = 8181


class YooKassaEmulatorConfig(BaseModel):
    """Everything the emulator can be told at start-up.

    ``shop_id``/``secret_key`` are the HTTP Basic credentials of ``/v3`` (YooKassa: shopId and secret
    key). ``notification_url`` is where notifications are POSTed (YooKassa: the URL set in the shop's
    settings); ``None`` records them in the delivery log as ``skipped``. A refused delivery (non-2xx or
    a connection error) is retried up to ``notification_max_attempts`` times in all, the delay doubling
    from ``notification_retry_initial_delay`` up to ``notification_retry_max_delay`` (YooKassa itself
    retries for 24 hours; a test double keeps it short and bounded).
    """

    shop_id: str = DEFAULT_SHOP_ID
    secret_key: str = DEFAULT_SECRET_KEY
    notification_url: str | None = None
    #: Source address notifications are sent from (billing checks it against its trusted networks).
    notification_source_address: str | None = "127.0.0.1"
    notification_max_attempts: int = Field(default=5, ge=1, le=50)
    notification_retry_initial_delay: float = Field(default=0.5, gt=0)
    notification_retry_max_delay: float = Field(default=4.0, gt=0)
    notification_timeout: float = Field(default=5.0, gt=0)
    #: Base of ``confirmation_url``; by default the address the API call came to.
    public_url: str | None = None
    #: YooKassa's fee, in percent of ``amount``, taken off ``income_amount``.
    commission_percent: Decimal = Field(default=Decimal("3.5"), ge=0, lt=100)
    #: ``recipient`` of every payment (YooKassa: the shop's account and its gateway).
    account_id: str = "100500"
    gateway_id: str = "100700"
    #: How long a ``waiting_for_capture`` payment may wait (``expires_at``; YooKassa: 7 days for cards).
    capture_window_seconds: int = Field(default=7 * 24 * 3600, ge=1)
    #: How many API calls the call log keeps (oldest dropped first).
    call_log_limit: int = Field(default=10_000, ge=1)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> YooKassaEmulatorConfig:
        """Read ``YOOKASSA_EMULATOR_*`` variables.

        ``SHOP_ID``, ``SECRET_KEY``, ``NOTIFICATION_URL``, ``PUBLIC_URL``, ``NOTIFICATION_ATTEMPTS``,
        ``NOTIFICATION_RETRY_INITIAL`` and ``NOTIFICATION_RETRY_MAX`` (seconds), ``COMMISSION_PERCENT``.
        """
        env = os.environ if environ is None else environ
        prefix = "YOOKASSA_EMULATOR_"
        return cls(
            shop_id=env.get(f"{prefix}SHOP_ID", DEFAULT_SHOP_ID),
            secret_key=env.get(f"{prefix}SECRET_KEY", DEFAULT_SECRET_KEY),
            notification_url=env.get(f"{prefix}NOTIFICATION_URL") or None,
            public_url=env.get(f"{prefix}PUBLIC_URL") or None,
            notification_max_attempts=int(env.get(f"{prefix}NOTIFICATION_ATTEMPTS", "5")),
            notification_retry_initial_delay=float(env.get(f"{prefix}NOTIFICATION_RETRY_INITIAL", "0.5")),
            notification_retry_max_delay=float(env.get(f"{prefix}NOTIFICATION_RETRY_MAX", "4")),
            commission_percent=Decimal(env.get(f"{prefix}COMMISSION_PERCENT", "3.5")),
        )
