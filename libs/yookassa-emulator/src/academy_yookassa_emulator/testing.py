"""A small notification receiver for tests: a web app on a free port that records what it is sent.

>>> with NotificationReceiver() as receiver:                       # doctest: +SKIP
...     config = YooKassaEmulatorConfig(notification_url=receiver.url)
...     receiver.fail_next(2, status=500)   # the next two POSTs are answered 500
...     received = receiver.wait_for(1)     # [Received(body=..., client_host="127.0.0.1", ...)]
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_TIMEOUT = 10.0


@dataclass(frozen=True)
class Received:
    """One POST the receiver got: its JSON body, the sender's address, the status it was answered."""

    body: dict[str, Any]
    client_host: str | None
    status: int
    at: float

    @property
    def event(self) -> str:
        return str(self.body.get("event"))

    @property
    def object_id(self) -> str:
        return str(self.body.get("object", {}).get("id"))


class NotificationReceiver:
    """Records POSTs to ``/webhooks/yookassa`` (any path works); can answer the next ones with an error."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, path: str = "/webhooks/yookassa") -> None:
        self.host, self.port, self.path = host, port, path
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._failures: list[int] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def fail_next(self, count: int, *, status: int = 500) -> None:
        """Answer the next ``count`` POSTs with ``status`` (still recording them)."""
        with self._lock:
            self._failures.extend([status] * count)

    def received(self, *, only_accepted: bool = False) -> list[Received]:
        with self._lock:
            items = list(self._received)
        return [item for item in items if not only_accepted or 200 <= item.status < 300]  # noqa: PLR2004

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._failures.clear()

    def wait_for(self, count: int, *, timeout: float = 5.0, only_accepted: bool = True) -> list[Received]:
        """Block until ``count`` POSTs (by default accepted ones) arrived; returns them all."""
        deadline = time.monotonic() + timeout
        while True:
            items = self.received(only_accepted=only_accepted)
            if len(items) >= count:
                return items
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(items)} of {count} notifications in {timeout}s: {items}")
            time.sleep(0.02)

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"raw": raw.decode("utf-8", "replace")}
        with self._lock:
            status = self._failures.pop(0) if self._failures else 200
            client = request.client.host if request.client else None
            self._received.append(Received(body, client, status, time.time()))
        return JSONResponse({"ok": status == 200}, status_code=status)  # noqa: PLR2004

    def start(self) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="yk-receiver")
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + _TIMEOUT
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the notification receiver did not start")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=_TIMEOUT)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
