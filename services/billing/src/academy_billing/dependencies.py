"""Request dependencies shared by billing's routers."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.auth import callers_from_settings
from fastapi import Depends, Header, Path, Request

from academy_billing.settings import BillingSettings


def _settings(request: Request) -> BillingSettings:
    settings = request.app.state.resources.settings
    assert isinstance(settings, BillingSettings)
    return settings


Settings = Annotated[BillingSettings, Depends(_settings)]

UserId = Annotated[int, Path(gt=0, le=2_147_483_647, description="The learner's id in the users service.")]
CourseId = Annotated[int, Path(gt=0, le=2_147_483_647)]
PaymentId = Annotated[int, Path(gt=0, le=9_223_372_036_854_775_807)]
PurchaseId = Annotated[int, Path(gt=0, le=2_147_483_647)]

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
