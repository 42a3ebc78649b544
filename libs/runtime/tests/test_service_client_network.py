"""ServiceClient over a real socket (no test transport): what a service-to-service call does on the wire."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from academy_runtime.auth import TokenCache
from academy_runtime.client import RejectedCallError, ServiceClient
from academy_runtime.errors import DependencyUnavailableError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .conftest import RuntimeTestSettings
from .helpers import under_uvicorn


def _callee() -> tuple[FastAPI, set[tuple[str, int]]]:
    """A callee that notes the client address (host, port) of every connection a request came on."""
    app = FastAPI()
    connections: set[tuple[str, int]] = set()

    @app.get("/slow")
    async def slow(request: Request) -> dict[str, int]:
        assert request.client is not None
        connections.add((request.client.host, request.client.port))
        await asyncio.sleep(0.05)
        return {"ok": 1}

    @app.post("/echo")
    async def echo(request: Request) -> JSONResponse:
        body = await request.json()
        if body.get("amount", 0) < 0:
            return JSONResponse(
                {"error": {"code": "insufficient_funds", "message": "no", "details": {"amount": body["amount"]}}},
                status_code=422,
            )
        return JSONResponse(
            {
                "body": body,
                "params": dict(request.query_params),
                "idempotency_key": request.headers.get("idempotency-key"),
                "authorized": request.headers.get("authorization", "").startswith("Bearer "),
            }
        )

    return app, connections


@asynccontextmanager
async def _served(app: FastAPI) -> AsyncIterator[str]:
    async with under_uvicorn(app) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def tokens() -> TokenCache:
    return TokenCache.from_settings(RuntimeTestSettings(_env_file=None))


async def test_a_burst_of_calls_reuses_the_connections_of_the_burst_before(tokens: TokenCache) -> None:
    """httpx's own pool kept 20 idle connections and closed the rest after each request, so each burst of
    more than 20 concurrent calls opened new ones (a TCP handshake and a new server connection each)."""
    app, connections = _callee()
    async with _served(app) as url:
        client = ServiceClient("callee", url, tokens)
        try:
            await asyncio.gather(*(client.get("/slow") for _ in range(40)))
            first_burst = set(connections)
            await asyncio.gather(*(client.get("/slow") for _ in range(40)))
        finally:
            await client.aclose()

    assert len(first_burst) > 20  # the calls overlapped
    assert connections == first_burst


async def test_a_call_sends_its_body_parameters_and_headers_and_reads_errors(tokens: TokenCache) -> None:
    app, _ = _callee()
    async with _served(app) as url:
        client = ServiceClient("callee", url, tokens)
        try:
            answer = await client.post(
                "/echo", json={"amount": 5, "note": "ё"}, params={"page": 2}, idempotency_key="k1"
            )
            with pytest.raises(RejectedCallError) as refused:
                await client.post("/echo", json={"amount": -1})
        finally:
            await client.aclose()

    assert answer == {
        "body": {"amount": 5, "note": "ё"},
        "params": {"page": "2"},
        "idempotency_key": "k1",
        "authorized": True,
    }
    assert refused.value.code == "insufficient_funds"
    assert refused.value.status_code == 422
    assert refused.value.details == {"amount": -1}


async def test_a_callee_that_is_not_listening_is_unavailable_and_said_so(tokens: TokenCache) -> None:
    async with under_uvicorn(FastAPI()) as port:
        pass  # the port is free again: nothing listens on it
    client = ServiceClient("callee", f"http://127.0.0.1:{port}", tokens, retries=0)
    try:
        with pytest.raises(DependencyUnavailableError) as unavailable:
            await client.get("/anything")
    finally:
        await client.aclose()

    # aiohttp's error, not httpx-aiohttp's mapping of it (ConnectTimeout, for a refused connection)
    assert "Cannot connect" in str(unavailable.value)
    assert "Timeout" not in str(unavailable.value)
