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
still be sending, and the server must not read the rest to reuse the connection). No route needs more
today: Telegram's updates and YooKassa's notifications are a few kilobytes (billing refuses a
notification over 64 KiB itself, and its ingress 64k).

A pure ASGI middleware (`BaseHTTPMiddleware` would buffer and break streaming); the app factory installs
it inside the request metrics, so a 413 is counted like any other answer.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from academy_runtime.errors import error_body

PAYLOAD_TOO_LARGE = "payload_too_large"


class PayloadTooLargeError(HTTPException):
    """413: the request body is over the limit. An HTTPException so that FastAPI's body parsing passes it
    on as it is (anything else raised while it reads the body becomes a 400 "error parsing the body")."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            status_code=413,
            detail=f"the request body is over {max_bytes} bytes, the most this service accepts",
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


class BodySizeLimitMiddleware:
    """Refuse with 413 a request body over `max_bytes` (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await payload_too_large_response(self.max_bytes)(scope, receive, send)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, _LimitedReceive(receive, self.max_bytes), tracked_send)
        except PayloadTooLargeError:
            # Raised where no exception handler renders it (a middleware reading the body): answer here.
            if started:
                raise
            await payload_too_large_response(self.max_bytes)(scope, receive, send)
