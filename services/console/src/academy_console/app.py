"""The operators' console: a FastAPI app of server-rendered pages (Jinja2, plain HTML forms), signed in
with the operator's password, calling the services' internal APIs as that operator (issue 12).

`academy-console` runs it (uvicorn, HTTP_HOST:HTTP_PORT, 8107 under `make run`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from academy_runtime.bodylimit import BodySizeLimitMiddleware
from academy_runtime.http import RequestTelemetryMiddleware
from academy_runtime.logs import configure_logging
from academy_runtime.ratelimit import RateLimiter
from academy_runtime.resources import open_redis
from academy_runtime.telemetry import configure_tracing
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from academy_console import broadcasts, courses, dead_letters, learners, money, signin
from academy_console.backends import Backends
from academy_console.sessions import SessionStore
from academy_console.settings import ConsoleSettings
from academy_console.web import ConsoleState, console, install_page_errors

log = logging.getLogger(__name__)


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    """The console app; its lifespan opens Redis and the services' clients and closes them."""
    settings = settings or ConsoleSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level)
        redis = open_redis(settings)
        # The runtime's limiter (`limits` in Redis, shared by the replicas): per address as its "public"
        # budget, per operator name as its "operator" budget.
        limiter = RateLimiter(
            settings.model_copy(
                update={
                    "rate_limit_public": settings.login_rate_limit_address,
                    "rate_limit_operator": settings.login_rate_limit_name,
                    "rate_limit_callers": {},
                    "rate_limit_routes": {},
                }
            )
        )
        backends = Backends(settings, settings.operators_key())
        app.state.console = ConsoleState(
            settings=settings,
            redis=redis,
            sessions=SessionStore(
                redis,
                settings.redis_prefix,
                idle_s=settings.session_idle_s,
                absolute_s=settings.session_absolute_s,
            ),
            backends=backends,
            login_limiter=limiter,
        )
        try:
            yield
        finally:
            await backends.aclose()
            await limiter.aclose()
            await redis.aclose()

    configure_tracing(settings.service_name, settings.otel_exporter_otlp_endpoint)
    app = FastAPI(
        title="Beauty Academy operators' console",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        telemetry={"tracing": False, "metrics": False},
    )
    install_page_errors(app)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        try:
            await asyncio.wait_for(console(request).redis.ping(), timeout=2)
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "checks": {"redis": type(exc).__name__}}, status_code=503)
        return JSONResponse({"status": "ok", "checks": {"redis": "ok"}})

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for module in (signin, courses, learners, money, broadcasts, dead_letters):
        app.include_router(module.router)
    # Forms are small: a body over MAX_REQUEST_BODY_BYTES (1 MiB) is a 413 before any page reads it.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(RequestTelemetryMiddleware, service=settings.service_name)
    return app


def main(argv: list[str] | None = None) -> None:
    """`academy-console [api]`: serve the console (uvicorn; proxy headers from FORWARDED_ALLOW_IPS only). `api`
    is the only command, as the services' images run `academy-<service> api` by default."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(prog="academy-console", description="The operators' web console.")
    parser.add_argument("command", nargs="?", default="api", choices=["api"])
    parser.parse_args(argv)
    settings = ConsoleSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        log_config=None,
        access_log=False,
    )
