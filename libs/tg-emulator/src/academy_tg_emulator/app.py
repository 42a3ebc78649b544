"""The ASGI application: Bot API routes for bots, ``/_emulator`` routes for tests and people."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from academy_tg_emulator.config import EmulatorConfig
from academy_tg_emulator.control import build_control_router
from academy_tg_emulator.errors import ApiError, not_found, unauthorized
from academy_tg_emulator.methods import BotApi
from academy_tg_emulator.params import Params
from academy_tg_emulator.state import Emulator

logger = logging.getLogger("academy_tg_emulator")


def _api_error(error: ApiError) -> JSONResponse:
    return JSONResponse(error.payload(), status_code=error.error_code)


async def shutdown(emulator: Emulator, api: BotApi) -> None:
    """Release long polls, stop webhook delivery and close outgoing HTTP clients."""
    async with emulator.lock:
        emulator.closing = True
        for bot in emulator.bots.values():
            bot.webhook_wakeup.set()
            bot.webhook_changed.set()
        emulator.lock.notify_all()
    await api.aclose()


def create_app(config: EmulatorConfig | None = None, *, emulator: Emulator | None = None) -> FastAPI:
    """Build the emulator app; pass ``emulator`` to keep a handle on its state (tests do)."""
    emulator = emulator or Emulator(config)
    api = BotApi(emulator)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        emulator.loop = asyncio.get_running_loop()
        emulator.closing = False
        bots = ", ".join(f"@{bot.spec.username} ({bot.token})" for bot in emulator.bots.values())
        logger.info("Telegram Bot API emulator ready for %s", bots)
        yield
        await shutdown(emulator, api)

    app = FastAPI(
        title="Beauty Academy Telegram Bot API emulator",
        description="Bot API at /bot{token}/{method}, files at /file/bot{token}/{path}, control API at /_emulator.",
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    app.state.api = api
    app.include_router(build_control_router(emulator, api))

    @app.exception_handler(StarletteHTTPException)
    async def telegram_not_found(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == HTTPStatus.NOT_FOUND and not request.url.path.startswith("/_emulator"):
            return _api_error(not_found())
        return await http_exception_handler(request, exc)

    @app.api_route("/bot{token}/{method}", methods=["GET", "POST"], include_in_schema=False)
    async def bot_api(token: str, method: str, request: Request) -> Response:
        try:
            params = Params.from_request(
                request.query_params, request.headers.get("content-type"), await request.body()
            )
            reply = await api.call(token, method, params)
        except ApiError as error:
            return _api_error(error)
        return JSONResponse(reply.payload())

    @app.get("/file/bot{token}/{file_path:path}", include_in_schema=False)
    async def download(token: str, file_path: str) -> Response:
        async with emulator.lock:
            known = token in emulator.bots
            record = emulator.files_by_path.get(file_path)
        if not known:
            return _api_error(unauthorized())
        if record is None:
            return _api_error(not_found())
        return Response(content=record.data, media_type=record.mime_type)

    return app
