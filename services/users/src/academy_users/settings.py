from __future__ import annotations

from academy_runtime.settings import ServiceSettings


class UsersSettings(ServiceSettings):
    service_name: str = "users"
    db_schema: str = "users"
    http_port: int = 8101
    worker_metrics_port: int = 9101
    database_url: str = "postgresql+asyncpg://academy_users@127.0.0.1:5432/beauty_academy"
