"""Request dependencies shared by the catalog's modules."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.auth import Caller, accepts
from academy_runtime.dependencies import settings_dependency
from academy_runtime.idempotency import idempotency_key_header
from fastapi import Depends

from academy_catalog.settings import CatalogSettings

SettingsDep = Annotated[CatalogSettings, settings_dependency(CatalogSettings)]

CatalogReader = Annotated[Caller, accepts("gateway-bot", roles=("catalog-editor",))]
"""Learner queries: the gateway shows the catalog; catalog editors see what they edit."""

CatalogEditor = Annotated[Caller, accepts(roles=("catalog-editor",))]
"""Operator commands (categories, courses, lessons, communities): operators with the catalog-editor role
only; each change is recorded in the audit log with the operator's name (`academy_catalog.audit`)."""

IdempotencyKey = Annotated[str | None, Depends(idempotency_key_header)]
