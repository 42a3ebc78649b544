"""Request dependencies shared by billing's routers."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.auth import callers_from_settings
from academy_runtime.dependencies import settings_dependency
from academy_runtime.ids import BigIntegerId, IntegerId
from fastapi import Header

from academy_billing.settings import BillingSettings

SettingsDep = Annotated[BillingSettings, settings_dependency(BillingSettings)]

# Billing's own ids, as their columns hold them (the learner's and the course's: academy_runtime.ids).
PaymentId = BigIntegerId
PurchaseId = IntegerId
TransactionId = BigIntegerId

# Moving money must be safe to retry, so every command that moves it requires the key.
RequiredIdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=150,
        description="Required: a retried request with the same key returns the first answer and acts once.",
    ),
]

OperatorCaller = Annotated[str, callers_from_settings("operator_callers", "run billing's operator commands")]
"""A caller listed in OPERATOR_CALLERS: refunds, exchange rates, the reconciliation report."""
