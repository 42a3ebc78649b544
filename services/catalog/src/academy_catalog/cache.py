"""The Redis cache of the learner queries, invalidated by a generation counter bumped after commit.

Every cached answer lives under the generation that was current when its reader *started*:
`<prefix>catalog:cache:g<N>:<query>:<params>`. A change commits first, then bumps the generation,
so a reader that saw generation N+1 read the database after the commit. A reader that raced the
change (read generation N, then the old rows) can only store the old answer under N, which nobody
asks for any more. Old generations expire with their TTL, which also bounds staleness if a bump is
lost while Redis is down.

Redis is an optimisation here: when it fails or is slow, the answer comes from PostgreSQL (logged,
counted in `academy_catalog_cache_requests_total{outcome="error"}`), never a 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from academy_runtime.after_commit import run_after_commit
from academy_runtime.db import SessionDep
from academy_runtime.dependencies import ResourcesDep
from academy_runtime.resources import Resources
from fastapi import Depends
from redis.exceptions import RedisError

from academy_catalog import metrics
from academy_catalog.settings import CatalogSettings

log = logging.getLogger(__name__)

_CACHE_FAILURES = (RedisError, OSError, TimeoutError)


class CatalogCache:
    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        catalog = resources.settings_as(CatalogSettings)
        self.ttl_s = catalog.catalog_cache_ttl_s
        self.timeout_s = catalog.catalog_cache_timeout_s

    @property
    def generation_key(self) -> str:
        return self.resources.rkey("catalog", "cache", "generation")

    async def get_or_load(
        self, query: str, params: tuple[object, ...], load: Callable[[], Awaitable[bytes]], *, ttl_s: int | None = None
    ) -> bytes:
        """The cached JSON answer of `query(params)`, or `load()`'s, stored for the next reader."""
        try:
            async with asyncio.timeout(self.timeout_s):
                # Read before the database, never after: see the module docstring.
                raw_generation = await self.resources.redis.get(self.generation_key)
                generation = raw_generation.decode() if isinstance(raw_generation, bytes) else raw_generation or "0"
                key = self.resources.rkey("catalog", "cache", f"g{generation}", query, *params)
                cached = await self.resources.redis.get(key)
        except _CACHE_FAILURES as exc:
            log.warning("catalog cache unavailable; reading PostgreSQL", extra={"query": query, "error": repr(exc)})
            metrics.CACHE_REQUESTS.labels(query, "error").inc()
            return await load()
        if cached is not None:
            metrics.CACHE_REQUESTS.labels(query, "hit").inc()
            return cached.encode() if isinstance(cached, str) else bytes(cached)
        metrics.CACHE_REQUESTS.labels(query, "miss").inc()
        answer = await load()
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.resources.redis.set(key, answer, ex=ttl_s or self.ttl_s)
        except _CACHE_FAILURES as exc:
            log.warning("could not store a catalog answer", extra={"query": query, "error": repr(exc)})
        return answer

    async def invalidate(self) -> None:
        """Forget every cached answer. Call it only after the change is committed."""
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.resources.redis.incr(self.generation_key)
        except _CACHE_FAILURES as exc:
            # The TTL ends the stale answers; readers meanwhile see the catalog as of up to one TTL ago.
            log.warning("could not invalidate the catalog cache", extra={"error": repr(exc)})
            metrics.CACHE_INVALIDATIONS.labels("error").inc()
            return
        metrics.CACHE_INVALIDATIONS.labels("ok").inc()


# Dependencies are `async def` although they never await: FastAPI runs plain `def` dependencies in its
# thread pool, a hop per dependency per request that the catalog bench measured.
async def _cache(resources: ResourcesDep) -> CatalogCache:
    return CatalogCache(resources)


CacheDep = Annotated[CatalogCache, Depends(_cache)]


async def _invalidate_after_commit(session: SessionDep, cache: CacheDep) -> None:
    # The request's own session (FastAPI resolves SessionDep once per request): the bump starts when
    # that transaction commits, and a request that rolls back bumps nothing (nothing changed either).
    run_after_commit(session, cache.invalidate)


InvalidatesCache = Annotated[None, Depends(_invalidate_after_commit)]
"""Declared by every operator endpoint that changes what learners see."""
