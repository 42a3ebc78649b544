"""Telegram's webhook: the secret-token header is checked before anything is read."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from academy_runtime.dependencies import ResourcesDep, settings_dependency
from academy_runtime.errors import UnauthorizedError, ValidationFailedError, error_responses
from aiogram.types import Update
from aiogram.types.update import UpdateTypeLookupError
from fastapi import APIRouter, Request
from pydantic import ValidationError

from academy_gateway_bot import metrics
from academy_gateway_bot.runtime import bot_runtime
from academy_gateway_bot.settings import GatewaySettings

SettingsDep = Annotated[GatewaySettings, settings_dependency(GatewaySettings)]

log = logging.getLogger(__name__)

router = APIRouter(tags=["telegram"])

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret


# What the OpenAPI says of an update: its frame (Telegram's Update has dozens of kinds, aiogram's model
# reads them all; the handler validates with it, a 422 naming what it could not read). The secret-token
# header is documented here, read by the handler itself, so that a missing one is a 401 like a wrong one.
_UPDATE_SCHEMA = {
    "title": "TelegramUpdate",
    "description": "A Telegram Bot API Update (https://core.telegram.org/bots/api#update): its id and one "
    "kind of update; the gateway handles messages and callback queries, other kinds are accepted and ignored.",
    "type": "object",
    "required": ["update_id"],
    "additionalProperties": True,
    "properties": {
        "update_id": {"type": "integer", "minimum": 0},
        "message": {
            "type": "object",
            "required": ["message_id", "date", "chat"],
            "additionalProperties": True,
            "properties": {
                "message_id": {"type": "integer"},
                "date": {"type": "integer", "minimum": 0, "description": "Unix time"},
                "chat": {
                    "type": "object",
                    "required": ["id", "type"],
                    "additionalProperties": True,
                    "properties": {"id": {"type": "integer"}, "type": {"type": "string"}},
                },
                "from": {"type": "object", "additionalProperties": True},
                "text": {"type": "string"},
            },
        },
        "callback_query": {
            "type": "object",
            "required": ["id", "from", "chat_instance"],
            "additionalProperties": True,
            "properties": {
                "id": {"type": "string"},
                "from": {"type": "object", "additionalProperties": True},
                "chat_instance": {"type": "string"},
                "data": {"type": "string"},
            },
        },
    },
    "examples": [
        {
            "update_id": 100000001,
            "message": {
                "message_id": 1,
                "date": 1767225600,
                "chat": {"id": 880001, "type": "private", "first_name": "Анна"},
                "from": {"id": 880001, "is_bot": False, "first_name": "Анна", "language_code": "ru"},
                "text": "/start",
            },
        }
    ],
}
_WEBHOOK_OPENAPI = {
    "parameters": [
        {
            "name": SECRET_HEADER,
            "in": "header",
            "required": True,
            "description": "The secret_token given to setWebhook; Telegram sends it with every update (401 "
            "when it is missing or wrong).",
            "schema": {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[A-Za-z0-9_-]+$"},
        }
    ],
    "requestBody": {"required": True, "content": {"application/json": {"schema": _UPDATE_SCHEMA}}},
}


@router.post(
    "/telegram/webhook",
    responses=error_responses(401, s401="Missing or wrong X-Telegram-Bot-Api-Secret-Token: not from Telegram."),
    openapi_extra=_WEBHOOK_OPENAPI,
)
async def telegram_webhook(request: Request, settings: SettingsDep, resources: ResourcesDep) -> dict[str, bool]:
    given = request.headers.get(SECRET_HEADER, "")
    expected = settings.telegram_webhook_secret.get_secret_value()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        metrics.UPDATES.labels("forged").inc()
        raise UnauthorizedError("missing or wrong X-Telegram-Bot-Api-Secret-Token")
    try:
        update = Update.model_validate_json(await request.body())
    except ValidationError as exc:
        metrics.UPDATES.labels("malformed").inc()
        errors = [
            {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]} for err in exc.errors()[:5]
        ]
        raise ValidationFailedError(
            f"not a Telegram update: {exc.error_count()} error(s)", details={"errors": errors}
        ) from exc
    runtime = bot_runtime(resources)
    try:
        await runtime.dispatcher.feed_update(runtime.bot, update)
    except UpdateTypeLookupError:
        # An update of no kind aiogram knows (a newer Bot API's, or none at all): nothing to handle here,
        # and Telegram would only send it again after an error.
        metrics.UPDATES.labels("unknown_kind").inc()
    return {"ok": True}
