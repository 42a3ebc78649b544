"""The Redis cache of the learner queries, invalidated by a generation counter bumped after commit, and a
bounded copy of the hot answers in the process's memory, kept in step through Redis pub/sub.

Every cached answer is stored with the generation that was current when its reader *started*:
`<prefix>{catalog}:cache:<query>:<params>` holds `<generation>\n<JSON>`, and a reader serves it only
when the generation it reads now (`<prefix>{catalog}:cache:generation`) is the same. A change commits
first, then bumps the generation, so a reader that saw generation N+1 read the database after the
commit. A reader that raced the change (read generation N, then the old rows) can only store the old
answer marked N, which nobody serves any more (the next reader reads it again and overwrites it).
Answers expire with their TTL, which also bounds staleness if a bump is lost while Redis is down.

A read that goes to Redis is one round trip: MGET of the generation and the answer, both under the hash
tag `{catalog}` so that they share a Redis Cluster slot. The answer's bytes are read undecoded and sent as
they are (no UTF-8 decoding, no model validation: they were serialised from the response model once,
when they were loaded). The database is only opened when the answer must be loaded (`load` gets a
session of its own, one read transaction).

The local copy (issue 11: the Redis read was most of a cached request's cost). Each answer read from Redis
or loaded is also kept in the process, marked with the generation it was read under, for
`CATALOG_LOCAL_CACHE_MAX_AGE_S` at most (nor longer than its own TTL), `local_entries` answers at most (the
oldest goes: params come from the query string). It is served without any Redis call while its generation
is the one the process *knows* is current, and the process knows that only while it is subscribed to
`<prefix>{catalog}:cache:invalidated`:
- `invalidate()` INCRs the generation, then PUBLISHes the new value there, and the process that made the
  change knows it at once (read-your-writes for the operator who edits and reloads);
- a background task (started by the first read, stopped by `aclose()`) subscribes, and only once Redis has
  confirmed the subscription reads the generation with GET; from then on every message raises what the
  process knows (to the highest seen: messages of two concurrent bumps may cross);
- on any error, a silent reconnection or a connection that stops answering PINGs, the process knows
  nothing (nothing is served locally, the copy is dropped) until it has subscribed again and re-read the
  generation; it retries with a growing delay.
A lost message (a publish that failed after its INCR, a link that died without a word) is therefore stale
for at most the local max age: an expired local answer is read from Redis again. Classic SUBSCRIBE and
PUBLISH are cluster-wide in a Redis Cluster, so the subscription may sit on any node.

Redis is an optimisation here: when it fails or is slow, the answer comes from PostgreSQL (logged,
counted in `academy_catalog_cache_requests_total{outcome="error"}`), never a 500. A local hit is counted
as `outcome="local_hit"`, a Redis hit as `hit`; `academy_catalog_cache_subscribed` is 1 while the process
follows the invalidations.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from academy_runtime.after_commit import run_after_commit
from academy_runtime.db import SessionDep, transaction
from academy_runtime.resources import Resources
from fastapi import Depends, Request, Response
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

LOCAL_ENTRIES = 512
"""How many answers a process keeps in memory at most (the oldest stored goes first)."""
_RESUBSCRIBE_FIRST_DELAY_S = 0.5
_RESUBSCRIBE_MAX_DELAY_S = 30.0
_PING_AFTER_IDLE_S = 5.0
"""A subscription silent this long is PINGed; one that does not answer within as long again is dropped."""

Load = Callable[[AsyncSession], Awaitable[bytes]]
"""Reads an answer from PostgreSQL, in the session it is given, as the JSON bytes to send."""


class CatalogCache:
    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        catalog = resources.settings_as(CatalogSettings)
        self.ttl_s = catalog.catalog_cache_ttl_s
        self.timeout_s = catalog.catalog_cache_timeout_s
        self.local_max_age_s = catalog.catalog_local_cache_max_age_s
        self.cache_control = self.cache_control_for(catalog)
        self.local_entries = LOCAL_ENTRIES
        self.generation_key = resources.rkey(_HASH_TAG, "cache", "generation")
        self.invalidated_channel = resources.rkey(_HASH_TAG, "cache", "invalidated")
        self.known_generation: int | None = None
        """The current generation as this process knows it: None while it is not subscribed to the channel."""
        self._local: dict[str, tuple[int, bytes, float]] = {}
        """Answer key -> (generation it was read under, JSON bytes, time.monotonic() it expires at)."""
        self._listener: asyncio.Task[None] | None = None
        self._pubsub: Any = None
        """The listener's current redis-py PubSub (None between attempts)."""
        self._closed = False
        self._outcomes: dict[tuple[str, str], Counter] = {}

    @staticmethod
    def cache_control_for(settings: CatalogSettings) -> str:
        """The `Cache-Control` of the learner queries' answers: callers may keep them
        `CATALOG_CLIENT_MAX_AGE_S` seconds; 0 asks them to ask every time (`no-cache`)."""
        seconds = settings.catalog_client_max_age_s
        return f"max-age={seconds}" if seconds > 0 else "no-cache"

    def response(self, body: bytes) -> Response:
        """A learner query's answer (`get_or_load`'s JSON bytes, sent as they are: FastAPI validates nothing a
        `Response` carries), which callers may keep for `CATALOG_CLIENT_MAX_AGE_S` (`Cache-Control`)."""
        return Response(content=body, media_type="application/json", headers={"cache-control": self.cache_control})

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
        """The cached JSON answer of `query(params)`, or `load()`'s, stored for the next reader.

        From the process's memory when it holds the answer under the generation it knows is current (no
        Redis call); else from Redis (one MGET); else from PostgreSQL. Never raises for Redis: see the
        module docstring."""
        key = self.answer_key(query, params)
        if self.known_generation is not None:
            local = self._local_answer(query, key)
            if local is not None:
                return local
        elif self._listener is None and self.local_max_age_s > 0 and not self._closed:
            # The cache is made at the first request, inside the event loop that serves them.
            self._listener = asyncio.get_running_loop().create_task(self._listen(), name="catalog-cache-invalidations")
        ttl_s = ttl_s or self.ttl_s
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
                self._keep(key, generation, answer, ttl_s)
                return bytes(answer)
        self._count(query, "miss")
        answer = await self._load(load)
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.resources.redis.set(key, generation + b"\n" + answer, ex=ttl_s)
        except _CACHE_FAILURES as exc:
            log.warning("could not store a catalog answer", extra={"query": query, "error": repr(exc)})
        self._keep(key, generation, answer, ttl_s)
        return answer

    def _local_answer(self, query: str, key: str) -> bytes | None:
        entry = self._local.get(key)
        if entry is not None and entry[0] == self.known_generation and entry[2] > time.monotonic():
            self._count(query, "local_hit")
            return entry[1]
        return None

    def response_from_memory(self, query: str, params: tuple[object, ...]) -> Response | None:
        """The answer `get_or_load(query, params, ...)` would give now from the process's memory, as
        `response()` sends it (counted as a local hit); None when it would need Redis or PostgreSQL.
        For the catalog's `FastAnswer`s (`academy_runtime.fast_answers`): `params` must be what the
        endpoint passes `get_or_load` for the same request."""
        if self.known_generation is None:
            return None
        body = self._local_answer(query, self.answer_key(query, params))
        return None if body is None else self.response(body)

    def _keep(self, key: str, generation: bytes, answer: bytes, ttl_s: float) -> None:
        """Copy an answer read (or loaded) under `generation` (the MGET's, not the known one: a bump may
        have been heard meanwhile) into the process's memory, if the local copy is on."""
        if self.local_max_age_s <= 0 or self.known_generation is None:
            return
        try:
            number = int(generation)
        except ValueError:  # not a counter INCR made: nothing to compare it with
            return
        local = self._local
        local.pop(key, None)
        if len(local) >= self.local_entries:
            del local[next(iter(local))]
        local[key] = (number, bytes(answer), time.monotonic() + min(self.local_max_age_s, ttl_s))

    def heard(self, generation: int) -> None:
        """A bump to `generation` (a message, or this process's own INCR): known only while subscribed."""
        if self.known_generation is not None and generation > self.known_generation:
            self.known_generation = generation

    def drop_local_copy(self) -> None:
        self._local.clear()

    def _forget(self) -> None:
        self.known_generation = None
        self._local.clear()
        metrics.CACHE_SUBSCRIBED.set(0)

    def _processes_caches(self) -> list[CatalogCache]:
        """This cache and the one the process's requests use, if that is another (a CatalogCache made by
        hand on the same Resources, as a test or a script does): both must see this process's bumps."""
        registered = self.resources.extras.get(_EXTRA)
        if isinstance(registered, CatalogCache) and registered is not self:
            return [self, registered]
        return [self]

    async def invalidate(self) -> None:
        """Forget every cached answer, in Redis and in every process's memory. Call it only after the
        change is committed. Never raises for Redis: a failed bump is logged and counted
        (`academy_catalog_cache_invalidations_total{outcome="error"}`)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                generation = int(await self.resources.redis.incr(self.generation_key))
        except _CACHE_FAILURES as exc:
            # The TTL ends the stale answers; readers meanwhile see the catalog as of up to one TTL ago.
            log.warning("could not invalidate the catalog cache", extra={"error": repr(exc)})
            metrics.CACHE_INVALIDATIONS.labels("error").inc()
            for cache in self._processes_caches():
                cache.drop_local_copy()
            return
        for cache in self._processes_caches():
            cache.heard(generation)
        metrics.CACHE_INVALIDATIONS.labels("ok").inc()
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.resources.redis.publish(self.invalidated_channel, generation)
        except _CACHE_FAILURES as exc:
            log.warning(
                "could not announce a catalog cache invalidation: other processes serve their local copies "
                "for up to CATALOG_LOCAL_CACHE_MAX_AGE_S",
                extra={"generation": generation, "error": repr(exc)},
            )

    async def _listen(self) -> None:
        """Keep `known_generation` current through the invalidation channel, resubscribing after any failure
        (with a growing delay). Runs until cancelled by `aclose()`."""
        delay = _RESUBSCRIBE_FIRST_DELAY_S
        while True:
            pubsub = self._pubsub = self.resources.redis.pubsub()
            connection: Any = None
            try:
                async with asyncio.timeout(_PING_AFTER_IDLE_S):
                    await pubsub.subscribe(self.invalidated_channel)
                connection = pubsub.connection
                # redis-py may reconnect and resubscribe by itself (with retries configured): the messages
                # of the gap are lost, so the process knows nothing until the new confirmation.
                if connection is not None:
                    connection.register_connect_callback(self._reconnected)
                async for _ in self._follow(pubsub):
                    delay = _RESUBSCRIBE_FIRST_DELAY_S
            except Exception as exc:  # whatever broke it, the local copy is off (finally) until resubscribed
                log.warning(
                    "catalog cache: not subscribed to invalidations, local copy off until resubscribed",
                    extra={"error": repr(exc), "retry_in_s": delay},
                )
            finally:
                self._forget()
                self._pubsub = None
                if connection is not None:
                    connection.deregister_connect_callback(self._reconnected)
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RESUBSCRIBE_MAX_DELAY_S)

    async def _follow(self, pubsub: Any) -> AsyncIterator[int]:
        """Apply the subscription's messages; yields the generation read after each confirmation of the
        subscription. Raises TimeoutError when the connection stops answering, and what redis-py raises."""
        pinged = False
        while True:
            message = await pubsub.get_message(timeout=_PING_AFTER_IDLE_S)
            if message is None:
                if pinged:
                    raise TimeoutError("Redis did not answer a PING on the pub/sub connection")
                await pubsub.ping()
                pinged = True
                continue
            pinged = False
            if message["type"] == "subscribe":
                # Confirmed: every bump from now on is heard, so the generation read now is current.
                async with asyncio.timeout(self.timeout_s):
                    value = await self.resources.redis.execute_command(
                        "GET", self.generation_key, **{NEVER_DECODE: True}
                    )
                self.known_generation = int(value or 0)
                metrics.CACHE_SUBSCRIBED.set(1)
                yield self.known_generation
            elif message["type"] == "message":
                self.heard(int(message["data"]))

    def _reconnected(self, _connection: object) -> None:
        """redis-py's connect callback (a method: it keeps a weak reference) on the pub/sub connection."""
        self._forget()

    async def aclose(self) -> None:
        """Stop following invalidations and drop the local copy (Resources.close() calls it)."""
        self._closed = True
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        self._forget()


# Dependencies are `async def` although they never await: FastAPI runs plain `def` dependencies in its
# thread pool, a hop per dependency per request that the catalog bench measured.
# One CatalogCache per Resources (the app's, or a test's), made at the first request.
async def _cache(request: Request) -> CatalogCache:
    return process_cache(request.app.state.resources)


def process_cache(resources: Resources) -> CatalogCache:
    """The CatalogCache the requests served with `resources` use (made and registered on the first call;
    `Resources.close()` closes it)."""
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
