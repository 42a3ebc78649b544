"""The ASGI application: YooKassa API v3 under ``/v3``, the confirmation page, ``/_emulator`` for tests.

API routes (https://yookassa.ru/developers/api), HTTP Basic auth ``shop_id:secret_key``:

- ``POST /v3/payments`` (Idempotence-Key), ``GET /v3/payments/{id}``,
  ``POST /v3/payments/{id}/capture`` and ``/cancel`` (Idempotence-Key);
- ``POST /v3/refunds`` (Idempotence-Key), ``GET /v3/refunds/{id}``.

A request repeated with the same ``Idempotence-Key`` gets the first answer again (YooKassa keeps it
24 hours; the emulator until reset); the same key with another body is refused with 400. Refusals are
cached neither here nor (for validation errors) at YooKassa, so a corrected request may reuse its key.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from academy_yookassa_emulator.config import YooKassaEmulatorConfig
from academy_yookassa_emulator.control import build_control_router
from academy_yookassa_emulator.errors import (
    ApiError,
    internal_server_error,
    invalid_credentials,
    invalid_request,
    not_found,
)
from academy_yookassa_emulator.state import PENDING, Emulator, IdempotentResult, JsonDict
from academy_yookassa_emulator.validation import idempotence_key, parse_capture, parse_payment, parse_refund

logger = logging.getLogger("academy_yookassa_emulator")

Handler = Callable[[Any, str | None, str], JsonDict]


def _error(error: ApiError) -> JSONResponse:
    return JSONResponse(error.payload(), status_code=error.status)


def _authorized(request: Request, emulator: Emulator) -> bool:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        shop_id, _, secret = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    config = emulator.config
    return secrets.compare_digest(shop_id, config.shop_id) and secrets.compare_digest(secret, config.secret_key)


async def _api_call(request: Request, emulator: Emulator, handler: Handler, *, post: bool) -> Response:
    """Auth, forced faults, body, Idempotence-Key, the handler under the lock, the call log."""
    method, path = request.method, request.url.path
    key = request.headers.get("idempotence-key")
    raw = await request.body()
    body: Any = None
    async with emulator.lock:
        status, answer = await _answer(request, emulator, handler, raw, key, post=post)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        emulator.record_call(method, path, key=key, body=body, status=status, response=answer)
    return JSONResponse(answer, status_code=status)


async def _answer(
    request: Request, emulator: Emulator, handler: Handler, raw: bytes, key: str | None, *, post: bool
) -> tuple[int, JsonDict]:
    if not _authorized(request, emulator):
        error = invalid_credentials()
        return error.status, error.payload()
    fault = emulator.take_api_fault()
    if fault is not None and not fault[1]:
        forced = internal_server_error(fault[0])
        return forced.status, forced.payload()
    try:
        status, answer = _run(request, emulator, handler, raw, key, post=post)
    except ApiError as error:
        status, answer = error.status, error.payload()
    if fault is not None:
        forced = internal_server_error(fault[0])
        return forced.status, forced.payload()
    return status, answer


def _run(
    request: Request, emulator: Emulator, handler: Handler, raw: bytes, key: str | None, *, post: bool
) -> tuple[int, JsonDict]:
    body: Any = None
    if post:
        key = idempotence_key(key)
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise invalid_request("The request body is not valid JSON") from None
        scope = (request.url.path, key)
        fingerprint = emulator.fingerprint(body)
        cached = emulator.idempotence.get(scope)
        if cached is not None:
            if cached.fingerprint != fingerprint:
                raise invalid_request(
                    "Idempotence key duplicated: the same Idempotence-Key was used with another request body",
                    "Idempotence-Key",
                )
            return HTTPStatus.OK, cached.body
    answer = handler(body, key, str(request.base_url))
    if post and key is not None:
        emulator.idempotence[(request.url.path, key)] = IdempotentResult(emulator.fingerprint(body), answer)
    return HTTPStatus.OK, answer


_PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>ЮKassa (emulator): {title}</title>
<style>body{{font-family:sans-serif;max-width:32em;margin:3em auto}}button{{font-size:1.1em;margin:.3em}}
.test{{color:#b00}}</style></head>
<body><p class="test">Test payment — YooKassa emulator, no money moves.</p>
<h1>{amount}</h1><p>{description}</p><p>Payment <code>{payment_id}</code>: <b id="status">{status}</b></p>
{actions}
</body></html>
"""
_ACTIONS = """<form method="post" action="/checkout/{payment_id}/pay" style="display:inline">
<button type="submit" id="pay">Pay (card *4444)</button></form>
<form method="post" action="/checkout/{payment_id}/cancel" style="display:inline">
<button type="submit" id="cancel">Cancel</button></form>"""


def _checkout_page(emulator: Emulator, payment_id: str) -> HTMLResponse:
    payment = emulator.payments.get(payment_id)
    if payment is None:
        return HTMLResponse("<h1>Payment not found</h1>", status_code=404)
    actions = _ACTIONS.format(payment_id=html.escape(payment.id)) if payment.status == PENDING else ""
    page = _PAGE.format(
        title=html.escape(payment.description or payment.id),
        amount=html.escape(f"{payment.amount.to_api()['value']} {payment.amount.currency}"),
        description=html.escape(payment.description or ""),
        payment_id=html.escape(payment.id),
        status=html.escape(payment.status),
        actions=actions,
    )
    return HTMLResponse(page)


async def shutdown(emulator: Emulator) -> None:
    """Stop notification delivery and close the outgoing HTTP client."""
    await emulator.notifier.aclose()


def create_app(config: YooKassaEmulatorConfig | None = None, *, emulator: Emulator | None = None) -> FastAPI:
    """Build the emulator app; pass ``emulator`` to keep a handle on its state (tests do)."""
    emulator = emulator or Emulator(config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        logger.info(
            "YooKassa emulator ready: shop %s, notifications to %s",
            emulator.config.shop_id,
            emulator.notification_url or "(none)",
        )
        yield
        await shutdown(emulator)

    app = FastAPI(
        title="Beauty Academy YooKassa emulator",
        description="YooKassa API v3 at /v3, the confirmation page at /checkout/{id}, control API at /_emulator.",
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    app.include_router(build_control_router(emulator))

    @app.exception_handler(StarletteHTTPException)
    async def yookassa_not_found(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/v3"):
            if exc.status_code == HTTPStatus.NOT_FOUND:
                return _error(not_found())
            if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
                return _error(ApiError(405, "invalid_request", "Method not allowed"))
        return await http_exception_handler(request, exc)

    @app.exception_handler(Exception)
    async def yookassa_internal_error(request: Request, exc: Exception) -> Response:
        logger.error("unexpected failure on %s %s", request.method, request.url.path, exc_info=exc)
        return _error(internal_server_error())

    _api_routes(app, emulator)
    _checkout_routes(app, emulator)
    return app


def _api_routes(app: FastAPI, emulator: Emulator) -> None:
    """``/v3``: each route hands :func:`_api_call` a handler ``(body, idempotence_key, base_url) -> object``."""

    @app.post("/v3/payments", include_in_schema=False)
    async def post_payment(request: Request) -> Response:
        def create(body: Any, key: str | None, base_url: str) -> JsonDict:
            return emulator.create_payment(parse_payment(body), key=key or "", base_url=base_url).to_api()

        return await _api_call(request, emulator, create, post=True)

    @app.get("/v3/payments/{payment_id}", include_in_schema=False)
    async def get_payment(payment_id: str, request: Request) -> Response:
        return await _api_call(request, emulator, lambda *_: emulator.payment(payment_id).to_api(), post=False)

    @app.post("/v3/payments/{payment_id}/capture", include_in_schema=False)
    async def post_capture(payment_id: str, request: Request) -> Response:
        def capture(body: Any, *_: Any) -> JsonDict:
            return emulator.capture(emulator.payment(payment_id), parse_capture(body)).to_api()

        return await _api_call(request, emulator, capture, post=True)

    @app.post("/v3/payments/{payment_id}/cancel", include_in_schema=False)
    async def post_cancel(payment_id: str, request: Request) -> Response:
        return await _api_call(
            request, emulator, lambda *_: emulator.merchant_cancel(emulator.payment(payment_id)).to_api(), post=True
        )

    @app.post("/v3/refunds", include_in_schema=False)
    async def post_refund(request: Request) -> Response:
        return await _api_call(
            request, emulator, lambda body, *_: emulator.create_refund(parse_refund(body)).to_api(), post=True
        )

    @app.get("/v3/refunds/{refund_id}", include_in_schema=False)
    async def get_refund(refund_id: str, request: Request) -> Response:
        return await _api_call(request, emulator, lambda *_: emulator.refund(refund_id).to_api(), post=False)


def _checkout_routes(app: FastAPI, emulator: Emulator) -> None:
    @app.get("/checkout/{payment_id}", include_in_schema=False)
    async def checkout(payment_id: str) -> Response:
        async with emulator.lock:
            return _checkout_page(emulator, payment_id)

    @app.post("/checkout/{payment_id}/{action}", include_in_schema=False)
    async def checkout_action(payment_id: str, action: str) -> Response:
        if action not in {"pay", "cancel"}:
            return HTMLResponse("<h1>Unknown action</h1>", status_code=404)
        async with emulator.lock:
            payment = emulator.payments.get(payment_id)
            if payment is None:
                return HTMLResponse("<h1>Payment not found</h1>", status_code=404)
            try:
                if action == "pay":
                    emulator.pay(payment)
                else:
                    emulator.payer_cancel(payment, party="yoo_money", reason="expired_on_confirmation")
            except ApiError as error:
                page = _checkout_page(emulator, payment_id)
                page.status_code = error.status
                return page
            return RedirectResponse(payment.return_url, status_code=HTTPStatus.SEE_OTHER)


__all__ = ["create_app", "shutdown"]
