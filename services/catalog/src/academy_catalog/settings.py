from __future__ import annotations

from academy_runtime.settings import ServiceSettings
from pydantic import Field


class CatalogSettings(ServiceSettings):
    service_name: str = "catalog"
    db_schema: str = "catalog"
    http_port: int = 8102
    worker_metrics_port: int = 9102
    database_url: str = "postgresql+asyncpg://academy_catalog@127.0.0.1:5432/beauty_academy"
    # Services allowed to call the operator endpoints (create, publish, archive). The gateway checks
    # that the human behind the request is an operator; the catalog only trusts the calling service.
    operator_callers: list[str] = Field(default_factory=lambda: ["gateway-bot"])
