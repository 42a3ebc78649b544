"""Bot API errors in Telegram's own shape and wording.

Every refusal the emulator gives a bot is an :class:`ApiError`; the HTTP layer turns it into
``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}`` with ``N`` as the
HTTP status, exactly as api.telegram.org answers.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Bot API refusal: HTTP status, Telegram's description and optional ``parameters``."""

    def __init__(self, error_code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    return ApiError(403, f"Forbidden: {detail}")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized")


def method_not_found() -> ApiError:
    return ApiError(404, "Not Found: method not found")


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def conflict(detail: str) -> ApiError:
    return ApiError(409, f"Conflict: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


def entity_too_large() -> ApiError:
    return ApiError(413, "Request Entity Too Large")


def chat_not_found() -> ApiError:
    return bad_request("chat not found")


def chat_id_empty() -> ApiError:
    return bad_request("chat_id is empty")


def bot_blocked() -> ApiError:
    return forbidden("bot was blocked by the user")


def text_empty() -> ApiError:
    return bad_request("message text is empty")


def cant_parse_entities(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


def message_not_modified() -> ApiError:
    return bad_request(
        "message is not modified: specified new message content and reply markup are exactly the same "
        "as a current content and reply markup of the message"
    )


def query_expired() -> ApiError:
    return bad_request("query is too old and response timeout expired or query ID is invalid")


WEBHOOK_CONFLICT = "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
POLLING_CONFLICT = "terminated by other getUpdates request; make sure that only one bot instance is running"
