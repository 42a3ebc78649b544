"""Rate limits of every service's HTTP API, shared by its replicas through Redis (issue 9, part 6).

Who is counted
    Each caller has a budget of its own, sized by its kind. Every replica of the caller shares it, and so
    does every replica of this service (the counters live in Redis).
    - a service (a valid service token for this service, by `iss`): `RATE_LIMIT_SERVICE`, generous
      (1000/s): a service is a trusted peer, and one identity carries all its users' traffic (every
      learner's request reaches the internal APIs as `gateway-bot`), so a budget sized for one client
      would throttle the bot under a real burst of learners;
    - an operator (a person's token, by name): `RATE_LIMIT_OPERATOR` (20/s), what one person's tools need;
    - anything else (public endpoints such as the Telegram webhook and YooKassa's notifications, and a
      request with no or an invalid token): per source address (`request.client.host`, which uvicorn
      resolves from X-Forwarded-For only for the proxies in `FORWARDED_ALLOW_IPS`), against
      `RATE_LIMIT_PUBLIC`.
    `RATE_LIMIT_CALLERS` (caller actor → limit: `{"gateway-bot": "3000/second", "operator:alice":
    "50/second"}`) replaces its kind's limit for one caller. `RATE_LIMIT_ROUTES` (route template →
    limit) replaces the limit on one route, whoever calls, with a budget of its own
    (`{"/telegram/webhook": "200/second"}`). `/healthz`, `/readyz` and `/metrics` are never limited.

How
    The `limits` library's sliding-window counter (two counters per key and window, so memory does not
    grow with the rate) in Redis (`limits.aio.storage.RedisStorage`, `async+redis://` from `REDIS_URL`;
    with `REDIS_CLUSTER=true` `RedisClusterStorage`, `async+redis+cluster://`; keys under `REDIS_PREFIX` +
    `ratelimit:`). `limits` itself hash-tags a window's two counters (`{<limit key>}` and
    `{<limit key>}/-1`), so the script that reads both keeps to one slot of a cluster.
    A limit is `limits` notation; several separated by `;` all apply (`"100/second;3000/minute"`: bursts
    and the sustained rate). Over the limit: 429 in the house error shape, code `rate_limited`, with
    `Retry-After` (whole seconds until a request would be admitted) and `RateLimit-Limit`/`-Remaining`/
    `-Reset` plus their `X-RateLimit-*` twins.

The check runs as an app-wide dependency, before the endpoint's own. The auth dependency of the
endpoint (`academy_runtime.auth.Callers`) has not run yet then, so the limiter reads the caller from
`request.state.caller` when something earlier set it, and otherwise verifies the token of a route that
declares callers itself (`auth.verified_caller`, which keeps the verified token on the request so the
endpoint's dependency does not check the signature again; a bad token falls back to the source address
and the endpoint then answers 401).

Hits taken ahead (one round trip per batch, not per request)
    A busy caller's hits are counted in Redis in batches: when a caller's requests come fast, the
    limiter counts the next few in one script call (`limits`' `cost`) and admits that many requests
    of the same caller from the batch, without Redis, for up to `LEASE_S` (50 ms). The batch is as
    many requests as the caller made in the previous `LEASE_S`, at most a hundredth of the limit
    (`LEASE_SHARE`). Only services are counted so (a peer whose one identity carries all its users'
    traffic, at a limit of 1000/second): operators and source addresses are counted one request at a
    time, exactly as before, and so is a limit under 200 per period, and a service sending a request
    now and then. While one request counts a batch, the caller's other requests wait for it and spend
    from it, rather than each counting a batch of its own. When the batch does not fit in what is left
    of the budget, the request is counted alone, so the last requests under a limit are admitted one
    by one as before. What it changes: no request is admitted
    that was not counted in Redis (so replicas still share one budget and the limit still holds); a hit
    counted may be spent up to `LEASE_S` later (it is counted in the window it was taken in); a batch's
    hits left unspent after `LEASE_S` stay counted (a caller whose pace drops at once is charged at
    most a hundredth of its limit per replica and period that it did not use). A cached catalog read
    spent about a quarter of its CPU on that round trip (the catalog bench).

When Redis does not answer
    The limiter fails open: the request is served unchecked, `academy_rate_limit_unchecked_total`
    counts it and a warning is logged, and for `RATE_LIMIT_FAIL_OPEN_S` seconds no check is tried (a
    dead Redis costs each request nothing, not a timeout). Refusing all traffic would turn a Redis
    outage into an outage of every API, while the limits only guard against overload and abuse; the
    readiness probe and the Redis alerts report the outage itself.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisClusterStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from prometheus_client import Counter

from academy_runtime.auth import Caller, route_callers, verified_caller
from academy_runtime.errors import DomainError, error_body
from academy_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

RATE_LIMITED = Counter(
    "academy_http_rate_limited_total",
    "Requests refused with 429 by the rate limiter",
    ["service", "route", "caller_kind"],
)
RATE_LIMIT_UNCHECKED = Counter(
    "academy_rate_limit_unchecked_total",
    "Requests served without a rate-limit check because the limiter's Redis failed (fail open)",
    ["service"],
)

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_EXTRA = "rate_limiter"

LEASE_S = 0.05
"""How long hits counted ahead in Redis may be spent by a caller's requests, in seconds; also the period
whose request count sizes the next batch."""
LEASE_SHARE = 100
"""A batch of hits counted ahead is at most this fraction (1/LEASE_SHARE) of its limit's amount."""
LEASES_MAX = 4096
"""Most (limit, caller) pairs whose batches one process keeps (sources are many: past it, the expired
ones are dropped, then all; a dropped batch's unspent hits only stay counted)."""


class RateLimitedError(DomainError):
    """429: the caller or source spent its budget; `retry_after_s` is when to try again (whole seconds)."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, limit: RateLimitItem, retry_after_s: int, reset_at: float) -> None:
        super().__init__(message, details={"retry_after_s": retry_after_s})
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.reset_at = reset_at

    def headers(self) -> dict[str, str]:
        """Retry-After and the RateLimit headers (IETF draft names and the X- ones clients know)."""
        amount, reset = str(self.limit.amount), str(self.retry_after_s)
        return {
            "Retry-After": reset,
            "RateLimit-Limit": amount,
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": reset,
            "X-RateLimit-Limit": amount,
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }


async def _rate_limited_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimitedError)
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details), status_code=exc.status_code, headers=exc.headers()
    )


@dataclass(frozen=True)
class Identity:
    """Whom a request is counted against: `kind` is `service`, `operator` or `source`."""

    kind: str
    name: str

    @property
    def actor(self) -> str:
        """The caller as audit records and RATE_LIMIT_CALLERS name it: `gateway-bot`, `operator:alice`."""
        return f"operator:{self.name}" if self.kind == "operator" else self.name


def parse_limits(text: str) -> list[RateLimitItem]:
    """`"100/second;3000/minute"` → the `limits` items; ValueError naming the text when it does not parse."""
    try:
        items = parse_many(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a rate limit such as '100/second;3000/minute'") from exc
    if not items:
        raise ValueError(f"{text!r} is not a rate limit such as '100/second;3000/minute'")
    return items


def storage_url(redis_url: str, *, cluster: bool = False) -> str:
    """REDIS_URL as the `limits` async storage URL: `redis://h:6379/0` → `async+redis://h:6379/0`
    (`rediss://` → `async+rediss://`); of a cluster node, `redis://h:7000/0` → `async+redis+cluster://h:7000`
    (a cluster has database 0 only, which `limits` takes no path for; `rediss://` nodes: see `_tls_options`)."""
    if redis_url.startswith("async+"):
        return redis_url
    if not cluster:
        return f"async+{redis_url}"
    parts = urlsplit(redis_url)
    return urlunsplit(("async+redis+cluster", parts.netloc, "", parts.query, ""))


@dataclass
class _Lease:
    """Hits of one limit and one caller counted in Redis ahead of the requests that spend them."""

    cap: int  # the largest batch: LEASE_SHARE-th of the limit's amount
    credit: int = 0  # counted, not yet spent
    expires_at: float = 0.0  # monotonic: credit unspent by then is given up
    seen: int = 0  # requests in the current period
    period_ends_at: float = 0.0
    batch: int = 1  # how many hits the next round trip counts: the previous period's requests
    pending: asyncio.Future[None] | None = None  # a batch being counted: concurrent requests wait for it

    def count(self, now: float) -> None:
        """One more request of this caller (sizes the next period's batch)."""
        if now >= self.period_ends_at:
            # The previous period's requests, if that period was the one just ended (after a pause: 1).
            recent = self.seen if now < self.period_ends_at + LEASE_S else 0
            self.batch = max(1, min(recent, self.cap))
            self.seen = 0
            self.period_ends_at = now + LEASE_S
        self.seen += 1

    def spend(self, now: float) -> bool:
        """Pay for one request with a hit counted ahead; False when none is left (or they expired)."""
        if self.credit > 0 and now < self.expires_at:
            self.credit -= 1
            return True
        self.credit = 0
        return False

    def add(self, hits: int, now: float) -> None:
        """`hits` more counted in Redis, for the requests of the next LEASE_S."""
        self.credit += hits
        self.expires_at = now + LEASE_S


def _tls_options(settings: ServiceSettings) -> dict[str, bool]:
    """`limits` has no TLS scheme for a cluster: a `rediss://` node asks the cluster client for TLS itself."""
    return {"ssl": True} if settings.redis_cluster and settings.redis_url.startswith("rediss://") else {}


class RateLimiter:
    """One process's limiter: the service's limits over a Redis storage shared by every replica.

    `check(identity, route)` raises RateLimitedError when the identity's budget (the route's, if
    RATE_LIMIT_ROUTES names it) is spent, and fails open while Redis does not answer.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self.service = settings.service_name
        self.by_kind = {
            "service": parse_limits(settings.rate_limit_service),
            "operator": parse_limits(settings.rate_limit_operator),
            "source": parse_limits(settings.rate_limit_public),
        }
        self.callers = {actor: parse_limits(text) for actor, text in settings.rate_limit_callers.items()}
        self.routes = {route: parse_limits(text) for route, text in settings.rate_limit_routes.items()}
        self.fail_open_s = settings.rate_limit_fail_open_s
        timeout = settings.rate_limit_redis_timeout_s
        storage_kind = RedisClusterStorage if settings.redis_cluster else RedisStorage
        self.storage = storage_kind(
            storage_url(settings.redis_url, cluster=settings.redis_cluster),
            wrap_exceptions=True,
            implementation="redispy",
            key_prefix=f"{settings.redis_prefix}ratelimit",
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            **_tls_options(settings),
        )
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self._unchecked_until = 0.0
        self._leases: dict[tuple[RateLimitItem, tuple[str, ...]], _Lease] = {}

    def limits_for(self, identity: Identity, route: str) -> tuple[str, list[RateLimitItem]]:
        """(budget scope, limits) of a request: the route's own when configured, else the caller's own
        (RATE_LIMIT_CALLERS), else its kind's."""
        if route in self.routes:
            return route, self.routes[route]
        if identity.kind != "source" and identity.actor in self.callers:
            return "*", self.callers[identity.actor]
        return "*", self.by_kind[identity.kind]

    async def check(self, identity: Identity, route: str) -> None:
        """Count one request; RateLimitedError (429) when over a limit. Never raises for a Redis failure."""
        if time.monotonic() < self._unchecked_until:
            RATE_LIMIT_UNCHECKED.labels(self.service).inc()
            return
        scope, items = self.limits_for(identity, route)
        keys = (self.service, scope, identity.kind, identity.name)
        try:
            for item in items:
                if not await self._hit(item, keys, batched=identity.kind == "service"):
                    stats = await self.strategy.get_window_stats(item, *keys)
                    retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                    RATE_LIMITED.labels(self.service, route, identity.kind).inc()
                    raise RateLimitedError(
                        f"too many requests from {identity.kind} {identity.name!r} "
                        f"(limit {item.amount} per {item.multiples} {item.GRANULARITY.name}); "
                        f"retry in {retry_after} s",
                        limit=item,
                        retry_after_s=retry_after,
                        reset_at=stats.reset_time,
                    )
        except (StorageError, OSError, TimeoutError) as exc:
            self._unchecked_until = time.monotonic() + self.fail_open_s
            RATE_LIMIT_UNCHECKED.labels(self.service).inc()
            log.warning(
                "rate limiter's Redis failed; serving requests unchecked",
                extra={"error": type(exc).__name__, "retry_in_s": self.fail_open_s},
            )

    async def _hit(self, item: RateLimitItem, keys: tuple[str, ...], *, batched: bool) -> bool:
        """Count one request against `item` for `keys`; False when over the limit. With `batched`, from a
        batch counted ahead when one is left, else in Redis: a batch when the caller is busy (see the
        module docstring), else this request alone."""
        cap = item.amount // LEASE_SHARE
        if not batched or cap <= 1:  # a small limit: every request counted on its own, exactly
            return await self.strategy.hit(item, *keys)
        lease = self._lease(item, keys, cap)
        lease.count(time.monotonic())
        while not lease.spend(time.monotonic()):
            if lease.pending is None:
                break
            # Another request is counting a batch now: spend from it rather than count another.
            await asyncio.shield(lease.pending)
        else:
            return True
        batch = lease.batch
        if batch > 1:
            pending = lease.pending = asyncio.get_running_loop().create_future()
            try:
                counted = await self.strategy.hit(item, *keys, cost=batch)
            finally:
                lease.pending = None
                if not pending.done():
                    pending.set_result(None)
            if counted:
                lease.add(batch - 1, time.monotonic())
                return True
            lease.batch = 1  # near the limit: one at a time until the next period
        return await self.strategy.hit(item, *keys)

    def _lease(self, item: RateLimitItem, keys: tuple[str, ...], cap: int) -> _Lease:
        lease = self._leases.get((item, keys))
        if lease is None:
            if len(self._leases) >= LEASES_MAX:
                now = time.monotonic()
                for stale in [k for k, v in self._leases.items() if now >= max(v.expires_at, v.period_ends_at)]:
                    del self._leases[stale]
                if len(self._leases) >= LEASES_MAX:
                    self._leases.clear()
            lease = self._leases[item, keys] = _Lease(cap=cap)
        return lease

    async def aclose(self) -> None:
        """Close the storage's Redis connections (Resources.close calls this for every extra)."""
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _caller_identity(request: Request) -> Identity | None:
    """The authenticated caller: `request.state.caller_identity` (the `Caller` the auth dependency set)
    when something earlier authenticated the request, else the verified token of a route that declares
    callers; None for a public route or a missing or invalid token."""
    caller = getattr(request.state, "caller_identity", None)
    if not isinstance(caller, Caller):
        route = request.scope.get("route")
        token = _bearer_token(request)
        if route is None or token is None or route_callers(route) is None:
            return None
        try:
            caller = verified_caller(request, token)
        except DomainError:
            return None  # the endpoint's own dependency answers 401
    if caller.operator is not None:
        return Identity("operator", caller.operator)
    return Identity("service", caller.service)


def _limiter(request: Request) -> RateLimiter | None:
    resources = getattr(request.app.state, "resources", None)
    if resources is None or not resources.settings.rate_limit_enabled:
        return None
    limiter = resources.extras.get(_EXTRA)
    if limiter is None:
        limiter = resources.extras[_EXTRA] = RateLimiter(resources.settings)
    assert isinstance(limiter, RateLimiter)
    return limiter


async def enforce_rate_limit(request: Request) -> None:
    """App-wide dependency: count the request against its caller's or source's budget (see the module
    docstring); RateLimitedError (429 with Retry-After) when it is spent."""
    if request.url.path in UNLIMITED_PATHS:
        return
    limiter = _limiter(request)
    if limiter is None:
        return
    identity = _caller_identity(request)
    if identity is None:
        identity = Identity("source", request.client.host if request.client else "unknown")
    route = getattr(request.scope.get("route"), "path", request.url.path)
    await limiter.check(identity, route)


def document_rate_limits(openapi: dict[str, Any]) -> dict[str, Any]:
    """Add the 429 answer (house error body, Retry-After header) to every operation of an OpenAPI
    document; returns it, changed in place."""
    response = {
        "description": "Too many requests from this caller or address; retry after `Retry-After` seconds.",
        "headers": {
            "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}},
        },
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for path, operations in openapi.get("paths", {}).items():
        if path in UNLIMITED_PATHS:
            continue
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("429", response)
    return openapi


def install_rate_limits(app: FastAPI) -> None:
    """Render RateLimitedError with its headers and document 429 in the app's OpenAPI document. The
    dependency itself is `enforce_rate_limit`, which the app factory puts first among the app's."""
    app.add_exception_handler(RateLimitedError, _rate_limited_handler)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        return document_rate_limits(generate())

    app.openapi = openapi  # type: ignore[method-assign]
