"""Request dependencies shared by billing's routers."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.auth import Caller, accepts
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

# Who may call what (issue 9 §2), from the callers' code: the gateway (its BillingClient, money screens
# and notification consumers) is the only service that calls billing; people act as operators with roles.
LearnerCommand = Annotated[Caller, accepts("gateway-bot")]
"""What a learner does in the bot (buy, top up, pay in Stars, wallet settings): the gateway only."""
LearnerMoneyReader = Annotated[Caller, accepts("gateway-bot", roles=("support", "finance"))]
"""A learner's wallet, transactions, purchases and payments: the gateway, support and finance operators."""
FinanceReader = Annotated[Caller, accepts(roles=("finance", "support"))]
"""Operators' look-ups (a payment, its refunds, a wallet's ledger check): finance and support."""
FinanceOperator = Annotated[Caller, accepts(roles=("finance",))]
"""Moving money or its rules (refunds, adjustments, exchange rates) and the reconciliation report: finance
operators only; `caller.actor` (`operator:alice`) is recorded with each change."""
