from __future__ import annotations

from academy_runtime.settings import ServiceSettings
from pydantic import Field


class CatalogSettings(ServiceSettings):
    service_name: str = "catalog"
    db_schema: str = "catalog"
    http_port: int = 8102
    worker_metrics_port: int = 9102
    database_url: str = "postgresql+asyncpg://academy_catalog@127.0.0.1:5432/beauty_academy"
    # Learner queries are cached in Redis and invalidated after every committed change; the TTL is
    # the safety net for an invalidation lost while Redis was unreachable.
    catalog_cache_ttl_s: int = Field(default=300, ge=1)
    # The course of the month moves with enrolments, which do not invalidate the cache: this is how
    # stale it may get.
    top_course_cache_ttl_s: int = Field(default=60, ge=1)
    # A slow Redis must not slow the catalog down: past this, a cache call counts as failed.
    catalog_cache_timeout_s: float = Field(default=0.25, gt=0)
    # Hot answers are also kept in the process's memory, served while its Redis pub/sub subscription says
    # the generation has not moved: this is how long one may be served without Redis, the bound on
    # staleness should an invalidation message be lost. 0 turns the local copy off.
    catalog_local_cache_max_age_s: float = Field(default=1.0, ge=0)
    # Callers (the bot) may keep a learner query's answer this long and show it without asking again
    # (`Cache-Control: max-age`, academy_runtime.http_cache): how late a learner may see an operator's change.
    # 0 sends `no-cache`: callers ask every time.
    catalog_client_max_age_s: int = Field(default=2, ge=0, le=60)
    # "This month" for the course of the month: the calendar month of the learners' market.
    catalog_timezone: str = "Europe/Moscow"
