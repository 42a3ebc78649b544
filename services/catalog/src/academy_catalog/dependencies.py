"""Request dependencies shared by the catalog's modules."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.auth import callers_from_settings
from academy_runtime.dependencies import settings_dependency
from academy_runtime.idempotency import idempotency_key_header
from fastapi import Depends

from academy_catalog.settings import CatalogSettings

SettingsDep = Annotated[CatalogSettings, settings_dependency(CatalogSettings)]

OperatorCaller = Annotated[str, callers_from_settings("operator_callers", "change the catalog")]
"""An authenticated service listed in OPERATOR_CALLERS: operator commands (create, publish, archive)."""

IdempotencyKey = Annotated[str | None, Depends(idempotency_key_header)]
