"""HTTP client for calling another service: signed token, trace context, idempotency key, retries."""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from json import loads
from typing import Any

import httpx
from httpx_aiohttp import AiohttpTransport
from opentelemetry import trace

from academy_runtime import metrics
from academy_runtime.auth import TokenCache
from academy_runtime.errors import DependencyUnavailableError, DomainError, NotFoundError
from academy_runtime.http_cache import ResponseCache
from academy_runtime.telemetry import inject_headers, tracer

log = logging.getLogger(__name__)

_RETRYABLE_STATUS = {502, 503, 504}


class ServiceCallError(DomainError):
    """Another service answered with an error we pass on: its HTTP status (`status_code`), its error code
    (`code`, e.g. `insufficient_funds`) and `details`, so a caller can branch on what the callee meant.

    The statuses a caller acts on have their own types (catch the type, then read `code`), so no caller
    compares status numbers: 402 `PaymentRequiredCallError`, 403 `ForbiddenCallError`, 409
    `ConflictCallError`, 422 `RejectedCallError`. 404 raises `NotFoundError` and 5xx or an unreachable
    callee `DependencyUnavailableError`.
    """


class PaymentRequiredCallError(ServiceCallError):
    """402: the callee wants payment first (progress: a paid course nobody bought)."""


class ForbiddenCallError(ServiceCallError):
    """403: the caller may not do this for this subject (progress: a lesson of a course not enrolled)."""


class ConflictCallError(ServiceCallError):
    """409: the subject's state forbids it now (an archived course, a key reused, a lock held)."""


class RejectedCallError(ServiceCallError):
    """422: the request itself was refused (validation, a business rule such as `insufficient_funds`)."""


_ERROR_BY_STATUS: dict[int, type[ServiceCallError]] = {
    402: PaymentRequiredCallError,
    403: ForbiddenCallError,
    409: ConflictCallError,
    422: RejectedCallError,
}


def unreachable(service: str, exc: httpx.TransportError) -> DependencyUnavailableError:
    """The error for a call to `service` that got no answer, naming the transport's own error: aiohttp's,
    under httpx-aiohttp's mapping of it (which calls a refused connection `ConnectTimeout`)."""
    reason = exc.__cause__ or exc
    return DependencyUnavailableError(f"{service} is unreachable: {type(reason).__name__}: {reason}")


# The callee's keep-alive (uvicorn's `timeout_keep_alive`, 5 s) outlasts a pooled connection's: the client
# lets an idle connection go first, so it never writes a request into one the server is closing.
_KEEPALIVE_EXPIRY_S = 4.0
_MAX_CONNECTIONS = 100


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The TLS context every `ServiceClient` of the process verifies servers with (httpx's default: the
    certifi CA bundle). One for all: each client's transport built its own, loading the bundle again, about
    0.7 MB per client (the gateway has five; issue 11's idle memory). An SSLContext may be shared by any
    number of connections."""
    return httpx.create_ssl_context(trust_env=False)


class ServiceClient:
    """Calls one service. Requests with an idempotency key (and GETs) are retried on transient failures.

    httpx's API over aiohttp's connection pool (`httpx_aiohttp.AiohttpTransport`, by an httpx maintainer)
    unless `transport` is given (tests: `httpx.ASGITransport`, `httpx.MockTransport`). httpcore's pool kept 20
    idle connections and closed any more after each request, so a burst of calls opened a connection each,
    and it polled every idle connection's socket before every request (py-spy, bot bench: httpcore's pool
    was about a tenth of the gateway worker). aiohttp keeps up to `_MAX_CONNECTIONS` per callee alive,
    without either cost (issue 11).

    `cache`: GET answers the callee marks cacheable (`Cache-Control: max-age`) are kept there and answered
    from memory while fresh, with no request, no span and no retry (`academy_runtime.http_cache`); counted
    in `academy_service_client_cache_total`. Only a GET without extra `headers` is looked up or kept.
    """

    def __init__(
        self,
        service: str,
        base_url: str,
        tokens: TokenCache,
        *,
        timeout_s: float = 5.0,
        retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        self.service = service
        self.tokens = tokens
        self.retries = retries
        self.cache = cache
        if cache is not None:
            self._cache_hits = metrics.SERVICE_CLIENT_CACHE.labels(tokens.caller, service, "hit")
            self._cache_misses = metrics.SERVICE_CLIENT_CACHE.labels(tokens.caller, service, "miss")
        if transport is None:
            transport = AiohttpTransport(
                verify=_tls_context(),
                limits=httpx.Limits(max_connections=_MAX_CONNECTIONS, keepalive_expiry=_KEEPALIVE_EXPIRY_S),
                trust_env=False,
            )
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, transport=transport, trust_env=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Call `method path` with the service token; `headers` are sent as well (the console's
        `X-Audit-Reason`); raises as `_result` says (NotFoundError, ServiceCallError and its kinds,
        DependencyUnavailableError for a 5xx or an unreachable service)."""
        cache = self.cache if method.upper() == "GET" and not headers else None
        cache_key = ""
        if cache is not None:
            cache_key = cache.key(path, params)
            cached = cache.get(cache_key)
            if cached is not None:
                self._cache_hits.inc()
                return loads(cached)
            self._cache_misses.inc()
        retryable = method.upper() == "GET" or idempotency_key is not None
        attempts = self.retries + 1 if retryable else 1
        with tracer("academy.http.client").start_as_current_span(
            f"{method.upper()} {self.service}",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "http.request.method": method.upper(),
                "server.address": self.service,
                "url.path": path,
            },
        ) as span:
            for attempt in range(1, attempts + 1):
                sent = inject_headers(
                    {**(headers or {}), "authorization": f"Bearer {self.tokens.token_for(self.service)}"}
                )
                if idempotency_key:
                    sent["idempotency-key"] = idempotency_key
                try:
                    response = await self._http.request(method, path, json=json, params=params, headers=sent)
                except httpx.TransportError as exc:
                    if attempt < attempts:
                        await asyncio.sleep(0.2 * 2**attempt)
                        continue
                    span.set_status(trace.StatusCode.ERROR)
                    raise unreachable(self.service, exc) from exc
                if response.status_code in _RETRYABLE_STATUS and attempt < attempts:
                    await asyncio.sleep(0.2 * 2**attempt)
                    continue
                span.set_attribute("http.response.status_code", response.status_code)
                if cache is not None:
                    cache.store(cache_key, response)
                return self._result(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _result(self, response: httpx.Response) -> Any:
        if response.is_success:
            return response.json() if response.content else None
        code, details = "service_error", None
        try:
            error_doc = response.json()["error"]
            message = error_doc["message"]
            code = str(error_doc.get("code") or code)
            details = error_doc.get("details")
        except (ValueError, KeyError, TypeError, AttributeError):
            message = response.text[:200]
        if response.status_code == 404:  # noqa: PLR2004
            raise NotFoundError(f"{self.service}: {message}")
        if response.status_code >= 500:  # noqa: PLR2004
            raise DependencyUnavailableError(f"{self.service} failed ({response.status_code}): {message}")
        error_type = _ERROR_BY_STATUS.get(response.status_code, ServiceCallError)
        error = error_type(f"{self.service}: {message}", details=details if isinstance(details, dict) else None)
        error.status_code = response.status_code
        error.code = code
        raise error

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Any:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Any:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", path, **kwargs)
