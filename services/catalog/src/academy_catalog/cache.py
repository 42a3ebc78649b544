"""The Redis cache of the learner queries, invalidated by a generation counter bumped after commit.

Every cached answer is stored with the generation that was current when its reader *started*:
`<prefix>{catalog}:cache:<query>:<params>` holds `<generation>\n<JSON>`, and a reader serves it only
when the generation it reads now (`<prefix>{catalog}:cache:generation`) is the same. A change commits
first, then bumps the generation, so a reader that saw generation N+1 read the database after the
commit. A reader that raced the change (read generation N, then the old rows) can only store the old
answer marked N, which nobody serves any more (the next reader reads it again and overwrites it).
Answers expire with their TTL, which also bounds staleness if a bump is lost while Redis is down.

A cached read is one round trip: MGET of the generation and the answer, both under the hash tag
`{catalog}` so that they share a Redis Cluster slot. The answer's bytes are read undecoded and sent as
they are (no UTF-8 decoding, no model validation: they were serialised from the response model once,
when they were loaded). The database is only opened when the answer must be loaded (`load` gets a
session of its own, one read transaction).

Redis is an optimisation here: when it fails or is slow, the answer comes from PostgreSQL (logged,
counted in `academy_catalog_cache_requests_total{outcome="error"}`), never a 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from academy_runtime.after_commit import run_after_commit
from academy_runtime.db import SessionDep, transaction
from academy_runtime.resources import Resources
from fastapi import Depends, Request
from prometheus_client import Counter
from redis.client import NEVER_DECODE
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from academy_catalog import metrics
from academy_catalog.settings import CatalogSettings

log = logging.getLogger(__name__)

_CACHE_FAILURES = (RedisError, OSError, TimeoutError)
_HASH_TAG = "{catalog}"
"""Every key of the cache shares this Redis Cluster hash tag: one MGET reads the generation and an answer."""

Load = Callable[[AsyncSession], Awaitable[bytes]]
"""Reads an answer from PostgreSQL, in the session it is given, as the JSON bytes to send."""


class CatalogCache:
    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        catalog = resources.settings_as(CatalogSettings)
        self.ttl_s = catalog.catalog_cache_ttl_s
        self.timeout_s = catalog.catalog_cache_timeout_s
        self.generation_key = resources.rkey(_HASH_TAG, "cache", "generation")
        self._outcomes: dict[tuple[str, str], Counter] = {}

    def answer_key(self, query: str, params: tuple[object, ...]) -> str:
        return self.resources.rkey(_HASH_TAG, "cache", query, *params)

    def _count(self, query: str, outcome: str) -> None:
        counter = self._outcomes.get((query, outcome))
        if counter is None:
            counter = self._outcomes[query, outcome] = metrics.CACHE_REQUESTS.labels(query, outcome)
        counter.inc()

    async def _load(self, load: Load) -> bytes:
        async with transaction(self.resources.sessionmaker) as session:
            return await load(session)

    async def get_or_load(
        self, query: str, params: tuple[object, ...], load: Load, *, ttl_s: int | None = None
    ) -> bytes:
        """The cached JSON answer of `query(params)`, or `load()`'s, stored for the next reader."""
        key = self.answer_key(query, params)
        try:
            async with asyncio.timeout(self.timeout_s):
                # The generation is read with the answer, before the database, never after: see the
                # module docstring.
                generation, cached = await self.resources.redis.execute_command(
                    "MGET", self.generation_key, key, **{NEVER_DECODE: True}
                )
        except _CACHE_FAILURES as exc:
            log.warning("catalog cache unavailable; reading PostgreSQL", extra={"query": query, "error": repr(exc)})
            self._count(query, "error")
            return await self._load(load)
        generation = generation or b"0"
        if cached is not None:
            stored_generation, _, answer = cached.partition(b"\n")
            if stored_generation == generation:
                self._count(query, "hit")
                return bytes(answer)
        self._count(query, "miss")
        answer = await self._load(load)
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.resources.redis.set(key, generation + b"\n" + answer, ex=ttl_s or self.ttl_s)
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
# One CatalogCache per Resources (the app's, or a test's), made at the first request.
async def _cache(request: Request) -> CatalogCache:
    resources: Resources = request.app.state.resources
    cache = resources.extras.get(_EXTRA)
    if not isinstance(cache, CatalogCache) or cache.resources is not resources:
        cache = resources.extras[_EXTRA] = CatalogCache(resources)
    return cache


_EXTRA = "catalog_cache"


CacheDep = Annotated[CatalogCache, Depends(_cache)]


async def _invalidate_after_commit(session: SessionDep, cache: CacheDep) -> None:
    # The request's own session (FastAPI resolves SessionDep once per request): the bump starts when
    # that transaction commits, and a request that rolls back bumps nothing (nothing changed either).
    run_after_commit(session, cache.invalidate)


InvalidatesCache = Annotated[None, Depends(_invalidate_after_commit)]
"""Declared by every operator endpoint that changes what learners see."""
