"""Webhook delivery: POST each pending update to the bot's URL, in order, retrying with backoff.

One task per bot with a webhook. It posts the oldest pending update as JSON (with
``X-Telegram-Bot-Api-Secret-Token`` when a secret was set); a 2xx answer confirms the update, anything
else is recorded as ``last_error_date``/``last_error_message`` (see ``getWebhookInfo``) and retried
after a delay that doubles up to the configured maximum. As on Telegram, a webhook may answer with a
Bot API call in its body (``{"method": "sendMessage", ...}`` or a multipart form); it is executed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from academy_tg_emulator.errors import ApiError
from academy_tg_emulator.multipart import MultipartError, content_type_params
from academy_tg_emulator.params import Params

if TYPE_CHECKING:
    from academy_tg_emulator.state import BotState, Emulator, JsonDict, WebhookState

logger = logging.getLogger(__name__)

WEBHOOK_AUTH_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class ApiCall(Protocol):
    async def __call__(self, token: str, method: str, params: Params, *, via: str = "http") -> Any: ...


def _describe_failure(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "Connection timed out"
    if isinstance(exc, httpx.ConnectError):
        return "Connection refused"
    if isinstance(exc, httpx.TimeoutException):
        return "Read timeout expired"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _webhook_reply(response: httpx.Response) -> Params | None:
    """A Bot API call carried in the webhook's answer, if there is one."""
    body = response.content
    if not body.strip():
        return None
    content_type = response.headers.get("content-type", "")
    media_type, _ = content_type_params(content_type) if content_type else ("", {})
    try:
        params = Params.from_request({}, content_type or "application/json", body)
    except (ApiError, MultipartError, ValueError):
        return None
    if media_type not in {"application/json", "multipart/form-data", "application/x-www-form-urlencoded"}:
        return None
    return params if params.get_str("method") else None


class WebhookDeliverer:
    """Runs the delivery task of every bot that has a webhook."""

    def __init__(self, emulator: Emulator, call: ApiCall) -> None:
        self.emulator = emulator
        self.call = call
        self._http: httpx.AsyncClient | None = None

    def ensure_running(self, bot: BotState) -> None:
        """Start ``bot``'s delivery task if it is not running (caller holds the lock)."""
        if bot.webhook_task is None or bot.webhook_task.done():
            bot.webhook_task = asyncio.create_task(self._run(bot), name=f"webhook-{bot.id}")

    async def aclose(self) -> None:
        tasks = [bot.webhook_task for bot in self.emulator.bots.values() if bot.webhook_task is not None]
        await self.cancel(tasks)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @staticmethod
    async def cancel(tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(trust_env=False, follow_redirects=False)
        return self._http

    async def _run(self, bot: BotState) -> None:
        emulator = self.emulator
        config = emulator.config
        delay = config.webhook_retry_initial_delay
        while True:
            async with emulator.lock:
                webhook = bot.webhook
                if webhook is None or emulator.closing or emulator.bots.get(bot.token) is not bot:
                    bot.webhook_task = None
                    return
                update = bot.pending[0] if bot.pending else None
                if update is None:
                    bot.webhook_wakeup.clear()
                bot.webhook_changed.clear()
            if update is None:
                await bot.webhook_wakeup.wait()
                continue
            error, reply = await self._post(webhook, update)
            async with emulator.lock:
                if error is None:
                    if bot.pending and bot.pending[0]["update_id"] == update["update_id"]:
                        bot.pending.pop(0)
                    webhook.delivered += 1
                else:
                    webhook.last_error_date = int(time.time())
                    webhook.last_error_message = error
            if reply is not None:
                await self._execute(bot, reply)
            if error is None:
                delay = config.webhook_retry_initial_delay
                continue
            logger.info("webhook of bot %s failed: %s; retrying in %.2fs", bot.id, error, delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await bot.webhook_changed.wait()
            delay = min(delay * 2, config.webhook_retry_max_delay)

    async def _post(self, webhook: WebhookState, update: JsonDict) -> tuple[str | None, Params | None]:
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers[WEBHOOK_AUTH_HEADER] = webhook.secret_token
        body = json.dumps(update, ensure_ascii=False).encode("utf-8")
        try:
            response = await self._client().post(
                webhook.url, content=body, headers=headers, timeout=self.emulator.config.webhook_timeout
            )
        except httpx.HTTPError as exc:
            return _describe_failure(exc), None
        if not response.is_success:
            try:
                phrase = HTTPStatus(response.status_code).phrase
            except ValueError:
                phrase = response.reason_phrase
            return f"Wrong response from the webhook: {response.status_code} {phrase}".rstrip(), None
        return None, _webhook_reply(response)

    async def _execute(self, bot: BotState, params: Params) -> None:
        method = params.get_str("method") or ""
        values = {key: value for key, value in params.values.items() if key != "method"}
        try:
            await self.call(bot.token, method, Params(values, params.files), via="webhook-response")
        except ApiError as exc:
            logger.info("bot %s answered its webhook with %s, refused: %s", bot.id, method, exc.description)
