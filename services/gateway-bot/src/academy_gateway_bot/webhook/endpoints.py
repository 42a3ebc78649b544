"""Telegram's webhook: the secret-token header is checked before anything is read."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from academy_runtime.dependencies import ResourcesDep, settings_dependency
from academy_runtime.errors import UnauthorizedError, ValidationFailedError, error_responses
from aiogram.types import Update
from fastapi import APIRouter, Request
from pydantic import ValidationError

from academy_gateway_bot import metrics
from academy_gateway_bot.runtime import bot_runtime
from academy_gateway_bot.settings import GatewaySettings

SettingsDep = Annotated[GatewaySettings, settings_dependency(GatewaySettings)]

log = logging.getLogger(__name__)

router = APIRouter(tags=["telegram"])

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret


@router.post(
    "/telegram/webhook",
    responses=error_responses(401, s401="Missing or wrong X-Telegram-Bot-Api-Secret-Token: not from Telegram."),
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
    await runtime.dispatcher.feed_update(runtime.bot, update)
    return {"ok": True}
