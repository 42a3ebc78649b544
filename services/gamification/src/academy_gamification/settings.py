from __future__ import annotations

from academy_runtime.settings import ServiceSettings


class GamificationSettings(ServiceSettings):
    service_name: str = "gamification"
    db_schema: str = "gamification"
    http_port: int = 8104
    worker_metrics_port: int = 9104
    database_url: str = "postgresql+asyncpg://academy_gamification@127.0.0.1:5432/beauty_academy"
    welcome_points: int = 50
    lesson_points: int = 10
    course_points: int = 100
