"""Liveness, readiness and metrics endpoints shared by every service."""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from academy_runtime.resources import Resources

router = APIRouter(tags=["operations"])

_CHECK_TIMEOUT_S = 2.0


async def _check_database(resources: Resources) -> None:
    async with resources.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _check_redis(resources: Resources) -> None:
    await resources.redis.ping()


async def _check_broker(resources: Resources) -> None:
    connection = resources.extras.get("amqp_probe")
    if connection is None or connection.is_closed:
        connection = await aio_pika.connect(resources.settings.rabbitmq_url, timeout=_CHECK_TIMEOUT_S)
        resources.extras["amqp_probe"] = connection


async def readiness(resources: Resources) -> dict[str, Any]:
    checks = {"database": _check_database, "redis": _check_redis, "broker": _check_broker}
    results: dict[str, Any] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(resources), timeout=_CHECK_TIMEOUT_S)
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"unavailable: {exc.__class__.__name__}"
    return results


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    results = await readiness(request.app.state.resources)
    ready = all(value == "ok" for value in results.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": results}, status_code=200 if ready else 503
    )


@router.get("/metrics", include_in_schema=False)
async def metrics_endpoint() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
