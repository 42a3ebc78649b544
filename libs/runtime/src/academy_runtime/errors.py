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


class DependencyUnavailableError(DomainError):
    status_code = 503
    code = "dependency_unavailable"


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
    app.add_exception_handler(OverflowError, _out_of_range_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)
