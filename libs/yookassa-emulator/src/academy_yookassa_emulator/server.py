"""Run the emulator in-process: a uvicorn server on a background thread, for tests.

>>> with YooKassaEmulatorServer(YooKassaEmulatorConfig(notification_url=url)) as server:  # doctest: +SKIP
...     server.base_url, server.api_url, server.emulator
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

import uvicorn

from academy_yookassa_emulator.app import create_app, shutdown
from academy_yookassa_emulator.config import YooKassaEmulatorConfig
from academy_yookassa_emulator.state import Emulator

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


class YooKassaEmulatorServer:
    """An emulator served by uvicorn on a daemon thread; ``port=0`` picks a free port."""

    def __init__(
        self,
        config: YooKassaEmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.emulator = Emulator(config)
        self.app = create_app(emulator=self.emulator)
        self.host = host
        self.port = port
        self.log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """What the shop (billing) is configured with: ``http://host:port/v3``."""
        return f"{self.base_url}/v3"

    def start(self) -> str:
        """Start serving and return the base URL once the server accepts connections."""
        if self._thread is not None:
            return self.base_url
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level=self.log_level, access_log=False, lifespan="on", timeout_graceful_shutdown=1
        )
        server = uvicorn.Server(config)

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(server.serve(sockets=[sock]))
            finally:
                loop.close()

        thread = threading.Thread(target=serve, name=f"yookassa-emulator-{self.port}", daemon=True)
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive():
                sock.close()
                raise RuntimeError("the YooKassa emulator stopped while starting; see its log")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the YooKassa emulator did not start within {_START_TIMEOUT}s")
            time.sleep(0.01)
        return self.base_url

    def stop(self) -> None:
        """Stop notification delivery and shut the server down."""
        server, thread, loop = self._server, self._thread, self._loop
        if server is None or thread is None:
            return
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(shutdown(self.emulator), loop).result(timeout=_STOP_TIMEOUT)
        server.should_exit = True
        thread.join(timeout=_STOP_TIMEOUT)
        self._server = self._thread = self._loop = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)


@contextmanager
def run_in_background(
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    config: YooKassaEmulatorConfig | None = None,
    log_level: str = "warning",
) -> Iterator[str]:
    """Serve an emulator on a background thread for the ``with`` block; yields its base URL."""
    with YooKassaEmulatorServer(config, host=host, port=port, log_level=log_level) as server:
        yield server.base_url
