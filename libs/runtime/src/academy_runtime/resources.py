"""What a process of a service holds open: created in the lifespan, never at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from academy_runtime.after_commit import wait_for_after_commit_jobs
from academy_runtime.db import create_engine, create_sessionmaker
from academy_runtime.settings import ServiceSettings, SettingsT, settings_as

RedisClient: TypeAlias = Redis | RedisCluster
"""The process's Redis: one server, or a Redis Cluster with `REDIS_CLUSTER=true` (see `open_redis`)."""


def open_redis(settings: ServiceSettings) -> RedisClient:
    """A client of REDIS_URL with decoded responses: `RedisCluster` when REDIS_CLUSTER is set (the URL
    names any node; the others are discovered), else `Redis`. Code that runs against both keeps the keys of
    one multi-key command, script or transaction on one slot (a shared `{hash tag}`)."""
    if settings.redis_cluster:
        return RedisCluster.from_url(
            settings.redis_url, decode_responses=True, max_connections=settings.redis_max_connections
        )
    # A blocking pool: past REDIS_MAX_CONNECTIONS in use, a caller waits (up to REDIS_POOL_TIMEOUT_S) for
    # one to come back, where redis-py's default pool refuses at once with MaxConnectionsError.
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        decode_responses=True,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout_s,
    )
    return Redis.from_pool(pool)


@dataclass
class Resources:
    """The process's engine, sessions, Redis and service-specific clients, and its settings.

    `settings` is typed as the base class, since the runtime opens resources for every service; a
    service reads its own fields through `settings_as(UsersSettings)` (or, in a request,
    `academy_runtime.dependencies.settings_dependency`).
    """

    settings: ServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: RedisClient
    # Service-specific clients (HTTP clients of other services, the bot, an S3 client...).
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: ServiceSettings) -> Resources:
        engine = create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            app_name=f"academy-{settings.service_name}",
        )
        return cls(
            settings=settings, engine=engine, sessionmaker=create_sessionmaker(engine), redis=open_redis(settings)
        )

    def settings_as(self, kind: type[SettingsT]) -> SettingsT:
        """The settings as the service's own class; TypeError when they are another's (a wiring bug)."""
        return settings_as(self.settings, kind)

    async def close(self) -> None:
        # After-commit jobs use these clients (Redis above all): let the started ones finish first.
        await wait_for_after_commit_jobs()
        for extra in list(self.extras.values()):
            closer = getattr(extra, "aclose", None) or getattr(extra, "close", None)
            if closer is not None:
                result = closer()
                if hasattr(result, "__await__"):
                    await result
        await self.redis.aclose()
        await self.engine.dispose()

    def rkey(self, *parts: object) -> str:
        """A Redis key in this deployment's namespace."""
        prefix: str = self.settings.redis_prefix
        return prefix + ":".join(str(p) for p in parts)
