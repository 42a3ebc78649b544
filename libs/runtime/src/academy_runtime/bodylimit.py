"""A limit on the size of every request body of every API (issue 9: a 20 MB JSON body was read and parsed
whole before its 422).

`MAX_REQUEST_BODY_BYTES` (default 1 MiB, the ingress' `proxy-body-size: 1m`) bounds every request:

- a `Content-Length` over the limit is answered 413 at once: the app (routing, rate limit, dependencies,
  handler) never runs and not one byte of the body is read;
- a body without one (chunked, streamed), or longer than it said, is counted as it arrives: the read
  that passes the limit raises `PayloadTooLargeError` in whatever was reading it (FastAPI's body parsing,
  `request.body()` in a dependency or handler), which the error handlers render as 413; nothing more is
  read.

The answer is the house error shape, code `payload_too_large`, with `Connection: close` (the client may
still be sending, and the server must not read the rest to reuse the connection). Telegram's updates
and YooKassa's notifications are a few kilobytes (billing refuses a notification over 64 KiB itself,
and its ingress 64k).

A route that must take more (or less) declares its own limit, and only that route gets it:

    from academy_runtime.bodylimit import body_limit

    @router.post("/{user_id}/avatars", dependencies=[body_limit(avatar_max_bytes, setting="AVATAR_MAX_BYTES")])

`body_limit(max_bytes)` takes a number of bytes or a function of the service's settings (the limit is a
setting of the service, read once when the app is built); `setting` names it for the 413 the OpenAPI
document gives that operation. The middleware matches each request to its route (the router's own
matching, in the router's order, before anything else runs) and applies that route's limit in both
ways above, Content-Length and counted; a request of any other route keeps `MAX_REQUEST_BODY_BYTES`.
The 413's `details.max_bytes` is the limit that applied. (The ingress in front of a public route must
allow as much; the internal API has none.) The users service's avatar upload is the one route that
declares its own today.

A pure ASGI middleware (`BaseHTTPMiddleware` would buffer and break streaming); the app factory installs
it inside the request metrics, so a 413 is counted like any other answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Depends
from fastapi.routing import RouteContext, iter_route_contexts
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from academy_runtime.errors import error_body
from academy_runtime.settings import ServiceSettings

PAYLOAD_TOO_LARGE = "payload_too_large"


class PayloadTooLargeError(HTTPException):
    """413: the request body is over the limit. An HTTPException so that FastAPI's body parsing passes it
    on as it is (anything else raised while it reads the body becomes a 400 "error parsing the body")."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            status_code=413,
            detail=f"the request body is over {max_bytes} bytes, the most this endpoint accepts",
            headers={"Connection": "close"},
        )
        self.details = {"max_bytes": max_bytes}


def payload_too_large_response(max_bytes: int) -> JSONResponse:
    error = PayloadTooLargeError(max_bytes)
    return JSONResponse(
        error_body(PAYLOAD_TOO_LARGE, str(error.detail), error.details), status_code=413, headers=error.headers
    )


def _declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, None when absent or not a number (the server refuses those itself)."""
    value = Headers(scope=scope).get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


class _LimitedReceive:
    """`receive` that counts the body's bytes and raises PayloadTooLargeError at the first message past
    the limit, and at every call after it (whoever caught the first refusal reads no further)."""

    def __init__(self, receive: Receive, max_bytes: int) -> None:
        self.receive = receive
        self.max_bytes = max_bytes
        self.received = 0

    async def __call__(self) -> Message:
        if self.received > self.max_bytes:
            raise PayloadTooLargeError(self.max_bytes)
        message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.max_bytes:
                raise PayloadTooLargeError(self.max_bytes)
        return message


MaxBytes = int | Callable[[ServiceSettings], int]
"""A body limit in bytes, or a function of the service's settings giving it."""


class RouteBodyLimit:
    """The dependency behind `body_limit(...)`: a route's own body limit. It does nothing when the
    request runs (the middleware applied the limit before routing); it marks the route, and the
    middleware and the OpenAPI document find it in the route's dependencies (`route_body_limit`)."""

    def __init__(self, max_bytes: MaxBytes, *, setting: str | None = None) -> None:
        self.max_bytes = max_bytes
        self.setting = setting

    def resolve(self, settings: ServiceSettings) -> int:
        """The limit in bytes under `settings`; ValueError unless it is a positive number."""
        limit = self.max_bytes(settings) if callable(self.max_bytes) else self.max_bytes
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise ValueError(f"a route's body limit must be a positive number of bytes, not {limit!r}")
        return limit

    def describe(self) -> str:
        """The 413's description in the OpenAPI document."""
        named = f" (`{self.setting}`)" if self.setting else ""
        return f"The request body is over this operation's own limit{named}."

    async def __call__(self) -> None:
        return None


def body_limit(max_bytes: MaxBytes, *, setting: str | None = None) -> Any:
    """`Depends(RouteBodyLimit(...))` for a route decorator's `dependencies=[...]`: this route's requests
    may carry up to `max_bytes` (bytes, or a function of the service's settings), instead of
    `MAX_REQUEST_BODY_BYTES`. `setting` names the setting for the 413 in the OpenAPI document."""
    return Depends(RouteBodyLimit(max_bytes, setting=setting))


def route_body_limit(route: Any) -> RouteBodyLimit | None:
    """The `RouteBodyLimit` a route (an APIRoute or FastAPI's RouteContext) declares, searched through
    its dependencies; None for a route without one (or one that has no dependencies, a Starlette route)."""
    dependant = getattr(route, "dependant", None)
    stack = [dependant] if dependant is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current.call, RouteBodyLimit):
            return current.call
        stack.extend(current.dependencies)
    return None


class BodySizeLimitMiddleware:
    """Refuse with 413 a request body over its limit (see the module docstring): `max_bytes` for every
    route, or the route's own (`body_limit`) among `routes` (the app's, matched as the router does;
    `settings` resolve the routes' limits once, at the first request)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        routes: Sequence[BaseRoute] = (),
        settings: ServiceSettings | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.routes = routes
        self.settings = settings
        self._route_limits: list[tuple[RouteContext, int | None]] | None = None

    def _limits(self) -> list[tuple[RouteContext, int | None]]:
        """Every route in routing order with its own limit (None: the default); empty when no route
        declares one, so that requests skip the matching altogether."""
        if self._route_limits is None:
            limits: list[tuple[RouteContext, int | None]] = []
            for context in iter_route_contexts(self.routes):
                declared = route_body_limit(context)
                if declared is None:
                    limits.append((context, None))
                elif self.settings is None:
                    raise RuntimeError("a route declares its own body limit, but the middleware has no settings")
                else:
                    limits.append((context, declared.resolve(self.settings)))
            self._route_limits = limits if any(limit is not None for _, limit in limits) else []
        return self._route_limits

    def limit_for(self, scope: Scope) -> int:
        """The body limit of the request: its route's own, else `max_bytes` (no route, or a route that
        declares none). The first route that matches fully, as the router picks it."""
        for context, limit in self._limits():
            match, _ = context.matches(scope)
            if match == Match.FULL:
                return self.max_bytes if limit is None else limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope)
        declared = _declared_length(scope)
        if declared is not None and declared > max_bytes:
            await payload_too_large_response(max_bytes)(scope, receive, send)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, _LimitedReceive(receive, max_bytes), tracked_send)
        except PayloadTooLargeError:
            # Raised where no exception handler renders it (a middleware reading the body): answer here.
            if started:
                raise
            await payload_too_large_response(max_bytes)(scope, receive, send)
