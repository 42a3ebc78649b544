"""Run the emulator in-process: a uvicorn server on a background thread, for tests.

>>> with run_in_background() as base_url:          # doctest: +SKIP
...     bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))

:class:`EmulatorServer` does the same and also exposes the :class:`~academy_tg_emulator.state.Emulator`
it serves, for tests that want to look at the state directly.
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

from academy_tg_emulator.app import create_app, shutdown
from academy_tg_emulator.config import EmulatorConfig
from academy_tg_emulator.methods import BotApi
from academy_tg_emulator.state import Emulator

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0

KEEP_ALIVE_S = 75
"""Seconds the emulator keeps an idle HTTP connection open (uvicorn's `timeout_keep_alive`; its default is 5).

Telegram's Bot API keeps a bot's connections open long; aiohttp, under aiogram's `AiohttpSession`, keeps an
idle pooled connection 15 s. With a server that closed it after 5 s, a request that reused the connection
just as the server closed it failed with `ClientOSError: Can not write request body` (a CI run of
`test_aiogram_sends_an_album_of_uploads` under load). The client must be the one that lets a connection go."""


class EmulatorServer:
    """An emulator served by uvicorn on a daemon thread; ``port=0`` picks a free port."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
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

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

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
            self.app,
            log_level=self.log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=KEEP_ALIVE_S,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"tg-emulator-{self.port}", daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive():
                sock.close()
                raise RuntimeError("the emulator server stopped while starting; see its log")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the emulator did not start within {_START_TIMEOUT}s")
            time.sleep(0.01)
        return self.base_url

    def stop(self) -> None:
        """Release waiting long polls, stop webhook delivery and shut the server down."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        loop = self.emulator.loop
        if loop is not None and loop.is_running():
            api: BotApi = self.app.state.api
            future = asyncio.run_coroutine_threadsafe(shutdown(self.emulator, api), loop)
            future.result(timeout=_STOP_TIMEOUT)
        server.should_exit = True
        thread.join(timeout=_STOP_TIMEOUT)
        self._server = self._thread = None

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
    config: EmulatorConfig | None = None,
    log_level: str = "warning",
) -> Iterator[str]:
    """Serve an emulator on a background thread for the ``with`` block; yields its base URL."""
    with EmulatorServer(config, host=host, port=port, log_level=log_level) as server:
        yield server.base_url
