from __future__ import annotations

from academy_runtime.settings import ServiceSettings


class ProgressSettings(ServiceSettings):
    service_name: str = "progress"
    db_schema: str = "progress"
    http_port: int = 8103
    worker_metrics_port: int = 9103
    database_url: str = "postgresql+asyncpg://academy_progress@127.0.0.1:5432/beauty_academy"
