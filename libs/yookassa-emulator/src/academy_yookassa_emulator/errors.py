"""API errors in YooKassa's own shape.

YooKassa answers 400, 401, 403, 404, 429 and 500 with
``{"type": "error", "id": "<uuid>", "code": "<code>", "description": "...", "parameter": "..."}``
(https://yookassa.ru/developers/using-api/response-handling/response-format); ``parameter`` names the
offending field when there is one. Every refusal the emulator gives is an :class:`ApiError`.
"""

from __future__ import annotations

import uuid
from typing import Any


class ApiError(Exception):
    """A YooKassa API refusal: HTTP status, ``code``, ``description`` and optional ``parameter``."""

    def __init__(self, status: int, code: str, description: str, parameter: str | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.parameter = parameter

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "error",
            "id": str(uuid.uuid4()),
            "code": self.code,
            "description": self.description,
        }
        if self.parameter is not None:
            body["parameter"] = self.parameter
        return body


def invalid_request(description: str, parameter: str | None = None) -> ApiError:
    """400 ``invalid_request``: a missing or malformed parameter (``parameter`` names it)."""
    return ApiError(400, "invalid_request", description, parameter)


def invalid_credentials() -> ApiError:
    """401 ``invalid_credentials``: no HTTP Basic header, or a wrong shopId / secret key."""
    return ApiError(
        401,
        "invalid_credentials",
        "Login or password is incorrect. Check the shopId and the secret key in the Authorization header.",
    )


def not_found(description: str = "Incorrect URL or object not found.") -> ApiError:
    """404 ``not_found``: an unknown route or object id."""
    return ApiError(404, "not_found", description)


def internal_server_error(status: int = 500) -> ApiError:
    """500 ``internal_server_error`` (YooKassa: the operation's result is unknown; repeat with the same key)."""
    return ApiError(
        status,
        "internal_server_error",
        "Internal server error. Repeat the request with the same Idempotence-Key later.",
    )
