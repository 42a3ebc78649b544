"""Small helpers for tests that talk to the emulator's Bot API directly, without a bot library."""

from __future__ import annotations

import struct
import zlib
from http import HTTPStatus
from typing import Any

import httpx

from academy_tg_emulator.config import DEFAULT_BOT_TOKEN


class RawBotApi:
    """Bot API calls as JSON POSTs to ``/bot{token}/{method}``, checking Telegram's answer shape."""

    def __init__(self, http: httpx.AsyncClient, token: str = DEFAULT_BOT_TOKEN) -> None:
        self.http = http
        self.token = token

    def path(self, method: str) -> str:
        return f"/bot{self.token}/{method}"

    async def call(self, method: str, **params: Any) -> httpx.Response:
        return await self.http.post(self.path(method), json=params)

    async def ok(self, method: str, **params: Any) -> Any:
        """Call ``method`` and return its ``result``; fail loudly if Telegram would have refused."""
        response = await self.call(method, **params)
        body = response.json()
        if response.status_code != HTTPStatus.OK or body.get("ok") is not True:
            raise AssertionError(f"{method} was refused: {response.status_code} {body}")
        return body["result"]

    async def refused(self, method: str, **params: Any) -> dict[str, Any]:
        """Call ``method`` expecting a refusal; return the error body (status already checked)."""
        response = await self.call(method, **params)
        body: dict[str, Any] = response.json()
        if body.get("ok") is not False or response.status_code != body.get("error_code"):
            raise AssertionError(f"{method} was not refused as Telegram does: {response.status_code} {body}")
        return body


def make_png(width: int, height: int) -> bytes:
    """A valid PNG of the given size (plain red), for photo uploads in tests."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\xff\x00\x00" * width
    pixels = zlib.compress(row * height)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
