"""One error hierarchy for expected outcomes, rendered once as JSON with its HTTP status.

A 4xx carries a message a person can act on; anything else that escapes is a bug and becomes a 500
without internals in the body.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFoundError(DomainError):
    status_code = 404
    code = "not_found"


class LearnerNotFoundError(NotFoundError):
    """A write keyed by a learner id the service has never heard of (`learner_not_found`). Each service
    decides how it knows its learners (a projection of `users.user_registered`, the users service as a
    fallback) and documents it; the refusal itself is the same everywhere."""

    code = "learner_not_found"

    def __init__(self, user_id: int, message: str | None = None) -> None:
        super().__init__(message or f"learner {user_id} is not known", details={"user_id": user_id})


class ConflictError(DomainError):
    status_code = 409
    code = "conflict"


class UnauthorizedError(DomainError):
    status_code = 401
    code = "unauthorized"


class ForbiddenError(DomainError):
    status_code = 403
    code = "forbidden"


class ValidationFailedError(DomainError):
    status_code = 422
    code = "validation_failed"


class UnsupportedMediaTypeError(DomainError):
    """415: the body is of a media type the endpoint does not take (an upload of a kind of file it does
    not accept); the message names the ones it does. Endpoints subclass it with their own `code`."""

    status_code = 415
    code = "unsupported_media_type"


class DependencyUnavailableError(DomainError):
    status_code = 503
    code = "dependency_unavailable"


class ErrorDetail(BaseModel):
    """What went wrong: a stable machine-readable `code` and a `message` a person can act on."""

    code: str = Field(description="Stable and machine-readable: `not_found`, `conflict`, `validation_failed`...")
    message: str = Field(description="What went wrong, for a person to act on.")
    details: Any = Field(default=None, description="Per-field errors (422) or facts of the error; absent when none.")


class ErrorBody(BaseModel):
    """The body of every 4xx and 5xx answer of every service (rendered once, by the handlers below)."""

    error: ErrorDetail


_STATUS_DESCRIPTIONS = {
    400: "The request cannot be carried out as asked.",
    401: "No service token, or one that is invalid, expired or meant for another service.",
    402: "Not paid for: the course must be bought first.",
    403: "The token is valid, but its caller may not do this.",
    404: "Not found.",
    409: "Conflicts with the current state.",
    413: "The request body is over the service's limit (`MAX_REQUEST_BODY_BYTES`, 1 MiB by default).",
    415: "The body is of a media type this operation does not take.",
    422: "The request is malformed: a field is missing, of the wrong type or out of range.",
    429: "Too many requests; retry after the time in `Retry-After`.",
    502: "An outside provider failed to answer.",
    503: "A dependency is unavailable; retry later.",
}


def error_responses(*status_codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route decorator: each status with the house error body.

    `error_responses(404, 409)` documents a 404 and a 409 with their usual descriptions; a keyword
    `s409="A learner with that Telegram id exists."` replaces one description (keywords are `s<code>`).
    The app factory already documents 401/403 (authenticated routes) and 422 (every route).
    """
    out: dict[int | str, dict[str, Any]] = {}
    for status in status_codes:
        description = descriptions.get(f"s{status}", _STATUS_DESCRIPTIONS.get(status, "Error."))
        out[status] = {"model": ErrorBody, "description": description}
    return out


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return body


async def _domain_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, UnauthorizedError) else None
    return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status_code, headers=headers)


async def _validation_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {"field": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")} for err in exc.errors()
    ]
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or "invalid request"
    return JSONResponse(error_body("validation_failed", message, fields), status_code=422)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type"}


async def _http_exception_handler(_: Request, exc: Exception) -> JSONResponse:
    """The framework's own refusals (no such route, method not allowed, a body that is not JSON) in the
    house error shape. A body that cannot be parsed is malformed like any other: 422, as documented. A body
    over the limit (`academy_runtime.bodylimit.PayloadTooLargeError`) is a 413 with its `details`."""
    assert isinstance(exc, StarletteHTTPException)
    status, code, message = exc.status_code, _HTTP_CODES.get(exc.status_code, "bad_request"), str(exc.detail)
    if status == 400 and "parsing the body" in message:  # noqa: PLR2004 - FastAPI's JSON decode failure
        status, code, message = 422, "validation_failed", "the body is not valid JSON"
    details = getattr(exc, "details", None)
    return JSONResponse(error_body(code, message, details), status_code=status, headers=exc.headers)


async def _out_of_range_handler(request: Request, exc: Exception) -> JSONResponse:
    """A value valid in its notation but beyond what can be computed with it: a date that leaves years
    1..9999 once moved to UTC (`9999-12-31T23:00-05:00`), a number past float range. The input is at
    fault, not the service: 422, and nothing was written (the request's transaction rolls back)."""
    log.warning("value out of range", extra={"path": request.url.path, "error": str(exc)[:200]})
    return JSONResponse(
        error_body("value_out_of_range", "a value is out of the range this service can handle (a date or a number)"),
        status_code=422,
    )


async def _unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", extra={"path": request.url.path}, exc_info=exc)
    return JSONResponse(error_body("internal_error", "internal error"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_exception_handler)
    app.add_exception_handler(OverflowError, _out_of_range_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)
