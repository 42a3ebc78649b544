"""MAX_REQUEST_BODY_BYTES (issue 9: a 20 MB JSON body was read and parsed whole before its 422): a body over
the limit is a 413 `payload_too_large`, refused on its Content-Length before anything runs, and cut off as
it arrives when it has none (chunked); a body at the limit is served as usual. A route may declare a limit
of its own (`body_limit`, issue 10's avatar upload): that route alone gets it, enforced the same ways."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from academy_runtime.bodylimit import body_limit
from academy_runtime.http import create_app
from academy_runtime.resources import Resources
from academy_runtime.settings import ServiceSettings
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel
from starlette.types import Message, Receive, Scope, Send

from .conftest import test_service
from .helpers import under_uvicorn

LIMIT = 4096

router = APIRouter()
handled: list[str] = []


class Note(BaseModel):
    text: str


@router.post("/notes")
async def add_note(note: Note) -> dict[str, int]:
    handled.append("notes")
    return {"length": len(note.text)}


@router.post("/raw")
async def raw(request: Request) -> dict[str, int]:
    handled.append("raw")
    return {"length": len(await request.body())}


UPLOAD_LIMIT = 4 * LIMIT


def upload_limit(settings: ServiceSettings) -> int:
    return 4 * settings.max_request_body_bytes


@router.post("/uploads", dependencies=[body_limit(upload_limit, setting="UPLOAD_MAX_BYTES")])
async def upload(request: Request) -> dict[str, int]:
    handled.append("uploads")
    return {"length": len(await request.body())}


@router.post("/uploads/{name}/notes")
async def note_of_upload(name: str, request: Request) -> dict[str, int]:
    handled.append("upload notes")
    return {"length": len(await request.body())}


@router.get("/plain")
async def plain() -> dict[str, bool]:
    return {"ok": True}


def _settings(**values: Any) -> ServiceSettings:
    # No rate limits: these tests need no Redis, and a refusal must not depend on one.
    return ServiceSettings(
        _env_file=None, service_name="rt-body", rate_limit_enabled=False, max_request_body_bytes=LIMIT, **values
    )


def _app(settings: ServiceSettings) -> FastAPI:
    app = create_app(replace(test_service, routers=[router]), settings)
    app.state.resources = Resources.open(settings)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    handled.clear()
    settings = _settings()
    app = _app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://rt") as http:
        yield http
    await app.state.resources.close()


def note_of_size(size: int) -> bytes:
    """A JSON note exactly `size` bytes long."""
    body = json.dumps({"text": ""}).encode()
    return json.dumps({"text": "x" * (size - len(body))}).encode()


async def chunks(body: bytes, size: int = 1000, pulled: list[int] | None = None) -> AsyncIterator[bytes]:
    """`body` streamed in pieces, with no Content-Length (httpx sends it chunked); `pulled` counts the
    bytes the server asked for."""
    for start in range(0, len(body), size):
        if pulled is not None:
            pulled.append(len(body[start : start + size]))
        yield body[start : start + size]


def assert_payload_too_large(answer: httpx.Response, limit: int = LIMIT) -> None:
    assert answer.status_code == 413, answer.text
    error = answer.json()["error"]
    assert error["code"] == "payload_too_large"
    assert error["details"] == {"max_bytes": limit}
    assert answer.headers["connection"] == "close"


@pytest.mark.parametrize("path", ["/notes", "/raw"])
async def test_over_the_limit_by_content_length_is_refused_before_anything_runs(
    client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.post(path, content=note_of_size(LIMIT + 1), headers={"content-type": "application/json"})
    assert_payload_too_large(answer)
    assert handled == []


async def test_a_content_length_over_the_limit_is_refused_without_reading_a_byte() -> None:
    """The 20 MB of the QA run, declared: the answer comes before the body is read at all."""
    app = _app(_settings())
    reads: list[Message] = []

    async def receive() -> Message:
        reads.append({})
        return {"type": "http.request", "body": b"{}" * 10, "more_body": True}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": "/internal/users/register",
        "raw_path": b"/internal/users/register",
        "query_string": b"",
        "headers": [(b"content-length", str(20 * 1024 * 1024).encode()), (b"content-type", b"application/json")],
        "client": ("10.0.0.1", 1234),
        "server": ("rt", 80),
        "scheme": "http",
        "root_path": "",
    }
    await app(scope, receive, send)
    assert reads == []
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "payload_too_large"
    await app.state.resources.close()


@pytest.mark.parametrize("path", ["/notes", "/raw"])
async def test_a_chunked_body_over_the_limit_is_cut_off(client: httpx.AsyncClient, path: str) -> None:
    pulled: list[int] = []
    body = note_of_size(20 * LIMIT)
    answer = await client.post(path, content=chunks(body, pulled=pulled), headers={"content-type": "application/json"})
    assert_payload_too_large(answer)
    assert handled == []
    # Reading stopped at the first piece past the limit.
    assert sum(pulled) <= LIMIT + 1000


@pytest.mark.parametrize("path", ["/notes", "/raw"])
async def test_a_body_at_the_limit_is_served(client: httpx.AsyncClient, path: str) -> None:
    body = note_of_size(LIMIT)
    headers = {"content-type": "application/json"}
    declared = await client.post(path, content=body, headers=headers)
    streamed = await client.post(path, content=chunks(body), headers=headers)
    for answer in (declared, streamed):
        assert answer.status_code == 200, answer.text
    assert handled == [path.strip("/")] * 2


async def test_the_413_is_documented_on_every_route_with_a_body() -> None:
    paths = _app(_settings()).openapi()["paths"]
    for path in ("/notes", "/raw"):
        response = paths[path]["post"]["responses"]["413"]
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert "413" not in paths["/plain"]["get"]["responses"]


def test_the_limit_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ServiceSettings(_env_file=None).max_request_body_bytes == 1024 * 1024
    monkeypatch.setenv("MAX_REQUEST_BODY_BYTES", "2048")
    assert ServiceSettings(_env_file=None).max_request_body_bytes == 2048
    monkeypatch.setenv("MAX_REQUEST_BODY_BYTES", "0")
    with pytest.raises(ValueError, match="greater than 0"):
        ServiceSettings(_env_file=None)


class CountingReceive:
    """Outside the app under uvicorn: the request body bytes uvicorn handed to the app."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.received = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counting() -> Message:
            message = await receive()
            self.received += len(message.get("body", b""))
            return message

        await self.app(scope, counting, send)


def serving(app: Any) -> AbstractAsyncContextManager[int]:
    return under_uvicorn(app)


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


async def stream_until_refused(writer: asyncio.StreamWriter, total: int) -> int:
    """Write up to `total` bytes of chunks; the bytes written before the server cut the connection (or
    stopped reading: no progress for 5 s). AssertionError if all were taken."""
    sent = 0
    piece = _chunk(b"x" * 65536)
    try:
        while sent < total:
            writer.write(piece)
            await asyncio.wait_for(writer.drain(), timeout=5)
            sent += len(piece)
    except (ConnectionError, TimeoutError):
        return sent
    raise AssertionError(f"the server read all {total} bytes")


async def test_under_uvicorn_a_chunked_body_over_the_limit_gets_413_and_the_rest_is_never_read() -> None:
    handled.clear()
    app = _app(_settings())
    counted = CountingReceive(app)
    head = b"POST /notes HTTP/1.1\r\nhost: rt\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    async with serving(counted) as port:
        # Just past the limit, then the client waits for the answer (the request never ends).
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head + _chunk(note_of_size(LIMIT + 500)))
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)  # the server closes the connection
        writer.close()
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert b"connection: close" in rest.lower()
        assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "payload_too_large"

        # The QA run's 20 MB, streamed: the server stops reading and closes; the app saw about the limit.
        counted.received = 0
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head)
        sent = await stream_until_refused(writer, total=20 * 1024 * 1024)
        writer.close()
    assert sent < 20 * 1024 * 1024
    assert counted.received <= LIMIT + 2 * 65536
    assert handled == []
    await app.state.resources.close()


async def test_a_route_with_its_own_limit_takes_more_and_only_that_route(client: httpx.AsyncClient) -> None:
    body = b"x" * (2 * LIMIT)
    headers = {"content-type": "application/octet-stream"}
    declared = await client.post("/uploads", content=body, headers=headers)
    streamed = await client.post("/uploads", content=chunks(body), headers=headers)
    for answer in (declared, streamed):
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"length": 2 * LIMIT}
    # Any other route keeps MAX_REQUEST_BODY_BYTES, one under the same path prefix included.
    assert_payload_too_large(await client.post("/raw", content=body, headers=headers))
    assert_payload_too_large(await client.post("/uploads/a/notes", content=body, headers=headers))
    assert handled == ["uploads", "uploads"]


async def test_over_a_routes_own_limit_is_refused_by_content_length_and_as_it_arrives(
    client: httpx.AsyncClient,
) -> None:
    at_limit = await client.post("/uploads", content=b"x" * UPLOAD_LIMIT)
    assert at_limit.status_code == 200, at_limit.text
    handled.clear()
    over = b"x" * (UPLOAD_LIMIT + 1)
    assert_payload_too_large(await client.post("/uploads", content=over), UPLOAD_LIMIT)
    pulled: list[int] = []
    assert_payload_too_large(
        await client.post("/uploads", content=chunks(b"x" * (5 * UPLOAD_LIMIT), pulled=pulled)), UPLOAD_LIMIT
    )
    assert sum(pulled) <= UPLOAD_LIMIT + 1000
    assert handled == []


async def test_a_routes_own_limit_is_documented_with_its_setting() -> None:
    paths = _app(_settings()).openapi()["paths"]
    assert "UPLOAD_MAX_BYTES" in paths["/uploads"]["post"]["responses"]["413"]["description"]
    assert "MAX_REQUEST_BODY_BYTES" in paths["/raw"]["post"]["responses"]["413"]["description"]
