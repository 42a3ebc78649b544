"""Request dependencies shared by the catalog's modules."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.auth import ServiceCaller
from academy_runtime.errors import ForbiddenError
from academy_runtime.idempotency import idempotency_key_header
from fastapi import Depends, Request

from academy_catalog.settings import CatalogSettings


async def _operator_caller(request: Request, caller: ServiceCaller) -> str:
    settings = request.app.state.resources.settings
    allowed = settings.operator_callers if isinstance(settings, CatalogSettings) else []
    if caller not in allowed:
        raise ForbiddenError(f"service {caller!r} may not change the catalog")
    return caller


OperatorCaller = Annotated[str, Depends(_operator_caller)]
"""An authenticated service allowed to run operator commands (create, publish, archive)."""

IdempotencyKey = Annotated[str | None, Depends(idempotency_key_header)]
