"""Notification delivery: ``{"type": "notification", "event", "object"}`` POSTed as JSON to the shop's URL.

As YooKassa does (https://yookassa.ru/developers/using-api/webhooks), each state change produces one
notification, sent from an address the shop can check (here ``127.0.0.1`` by default, see
:attr:`~academy_yookassa_emulator.config.YooKassaEmulatorConfig.notification_source_address`). A 2xx
answer confirms it; anything else, or a connection error, is retried with a doubling delay, up to
``notification_max_attempts`` in all (YooKassa keeps trying for 24 hours; the emulator stays short).

Notifications go out one at a time, in order, from one worker task. Faults change that on demand (see
:class:`~academy_yookassa_emulator.state.Faults`): repeated copies are queued one after another,
held ones are released in reverse order, dropped ones are only logged, delayed ones are sent by a task
of their own after a sleep, so the notifications that follow them arrive first.

Every notification is kept in the delivery log with its body, URL, status (``queued``, ``held``,
``delayed``, ``sending``, ``delivered``, ``failed``, ``dropped``, ``skipped`` when no URL is set) and
each attempt's outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from academy_yookassa_emulator.state import Emulator

logger = logging.getLogger(__name__)

JsonDict = dict[str, Any]


@dataclass
class Attempt:
    """One POST of a notification: when, the HTTP status or the connection error, how long it took."""

    at: float
    status_code: int | None
    error: str | None
    duration: float

    def view(self) -> JsonDict:
        return {"at": self.at, "status_code": self.status_code, "error": self.error, "duration": self.duration}


@dataclass
class NotificationRecord:
    """A notification in the delivery log."""

    seq: int
    id: str
    event: str
    object_id: str
    body: JsonDict
    url: str | None
    status: str
    created_at: float = field(default_factory=time.time)
    delivered_at: float | None = None
    attempts: list[Attempt] = field(default_factory=list)
    #: Faults applied to it: ``repeated``, ``reordered``, ``dropped``, ``delayed``, ``manual``.
    faults: list[str] = field(default_factory=list)
    #: 1 for the original; 2.. for the extra copies of a repeat fault.
    copy: int = 1
    delay: float = 0.0

    def view(self) -> JsonDict:
        last = self.attempts[-1] if self.attempts else None
        return {
            "seq": self.seq,
            "id": self.id,
            "event": self.event,
            "object_id": self.object_id,
            "url": self.url,
            "body": self.body,
            "status": self.status,
            "response_status": last.status_code if last else None,
            "attempts": len(self.attempts),
            "attempt_log": [attempt.view() for attempt in self.attempts],
            "created_at": self.created_at,
            "delivered_at": self.delivered_at,
            "faults": list(self.faults),
            "copy": self.copy,
        }


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Notifier:
    """Queues, fault-shapes and delivers the emulator's notifications (callers of :meth:`emit` hold the lock)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.log: list[NotificationRecord] = []
        self.held: list[NotificationRecord] = []
        self._seq = itertools.count(1)
        self._queue: asyncio.Queue[NotificationRecord] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None

    # ----------------------------------------------------------------- producing

    def emit(self, event: str, obj: JsonDict, *, manual: bool = False) -> list[NotificationRecord]:
        """Log a notification for ``obj`` and schedule it as the armed faults say; returns its log records."""
        faults = self.emulator.faults
        body = {"type": "notification", "event": event, "object": obj}
        record = self._record(event, obj, body)
        if manual:
            record.faults.append("manual")
        if faults.drop_next > 0:
            faults.drop_next -= 1
            record.status = "dropped"
            record.faults.append("dropped")
            return [record]
        if record.url is None:
            record.status = "skipped"
            return [record]
        records = [record, *self._repeat(record)]
        if faults.delay_next > 0:
            faults.delay_next -= 1
            for item in records:
                item.faults.append("delayed")
                item.delay = faults.delay_seconds
                item.status = "delayed"
                self._spawn(self._deliver_later(item))
        elif faults.reorder_next > 0:
            faults.reorder_next -= 1
            for item in records:
                item.faults.append("reordered")
                item.status = "held"
            self.held.extend(records)
            if faults.reorder_next == 0:
                self.release_held()
        else:
            for item in records:
                self._enqueue(item)
        return records

    def _repeat(self, record: NotificationRecord) -> list[NotificationRecord]:
        """The extra copies a repeat fault asks for (none when it is not armed)."""
        faults = self.emulator.faults
        if faults.repeat_next <= 0:
            return []
        faults.repeat_next -= 1
        record.faults.append("repeated")
        extras = []
        for copy in range(2, faults.repeat_times + 1):
            extra = self._record(record.event, record.body["object"], record.body)
            extra.faults, extra.copy = list(record.faults), copy
            extras.append(extra)
        return extras

    def release_held(self) -> int:
        """Queue the held notifications, newest first; returns how many were released."""
        held, self.held = self.held, []
        for item in reversed(held):
            self._enqueue(item)
        return len(held)

    def _record(self, event: str, obj: JsonDict, body: JsonDict) -> NotificationRecord:
        record = NotificationRecord(
            seq=next(self._seq),
            id=str(uuid.uuid4()),
            event=event,
            object_id=str(obj.get("id", "")),
            body=body,
            url=self.emulator.notification_url,
            status="queued",
        )
        self.log.append(record)
        return record

    def _enqueue(self, record: NotificationRecord) -> None:
        record.status = "queued"
        if self._queue is None:
            self._queue = asyncio.Queue()
        self._queue.put_nowait(record)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work(self._queue), name="yookassa-notify")

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    # ----------------------------------------------------------------- delivering

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            source = self.emulator.config.notification_source_address
            transport = httpx.AsyncHTTPTransport(local_address=source) if source else httpx.AsyncHTTPTransport()
            self._http = httpx.AsyncClient(transport=transport, trust_env=False, follow_redirects=False)
        return self._http

    async def _work(self, queue: asyncio.Queue[NotificationRecord]) -> None:
        while True:
            record = await queue.get()
            try:
                await self._deliver(record)
            except Exception:
                logger.exception("notification %s could not be delivered", record.id)

    async def _deliver_later(self, record: NotificationRecord) -> None:
        await asyncio.sleep(record.delay)
        await self._deliver(record)

    async def _deliver(self, record: NotificationRecord) -> None:
        config = self.emulator.config
        delay = config.notification_retry_initial_delay
        payload = json.dumps(record.body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": "YooKassa-emulator"}
        for attempt in range(1, config.notification_max_attempts + 1):
            record.status = "sending"
            started = time.monotonic()
            status_code: int | None = None
            error: str | None = None
            try:
                response = await self._client().post(
                    record.url or "", content=payload, headers=headers, timeout=config.notification_timeout
                )
                status_code = response.status_code
            except httpx.HTTPError as exc:
                error = _describe(exc)
            record.attempts.append(Attempt(time.time(), status_code, error, time.monotonic() - started))
            if status_code is not None and 200 <= status_code < 300:  # noqa: PLR2004
                record.status = "delivered"
                record.delivered_at = time.time()
                return
            if attempt == config.notification_max_attempts:
                break
            logger.info(
                "notification %s (%s) to %s refused: %s; retrying in %.2fs",
                record.id,
                record.event,
                record.url,
                error or status_code,
                delay,
            )
            record.status = "retrying"
            await asyncio.sleep(delay)
            delay = min(delay * 2, config.notification_retry_max_delay)
        record.status = "failed"
        logger.warning(
            "notification %s (%s) to %s failed after %d attempts", record.id, record.event, record.url, attempt
        )

    # ----------------------------------------------------------------- stopping

    def _cancel_tasks(self) -> list[asyncio.Task[None]]:
        tasks = [*self._side_tasks, *([self._worker] if self._worker is not None else [])]
        for task in tasks:
            task.cancel()
        self._side_tasks = set()
        self._worker = None
        self._queue = None
        return tasks

    def reset(self) -> None:
        """Stop every pending delivery and forget the log (the caller holds the lock)."""
        self._cancel_tasks()
        self.log = []
        self.held = []

    async def aclose(self) -> None:
        for task in self._cancel_tasks():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.aclose()
            self._http = None
