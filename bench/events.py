"""The events both sides send: CloudEvents around `users.user_registered.v1`, as the users service emits."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from academy_contracts import build_event
from academy_contracts.users import UserRegisteredV1
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue


def registered(user_id: int) -> UserRegisteredV1:
    return UserRegisteredV1(
        user_id=user_id,
        telegram_id=100_000_000 + user_id,
        username=f"learner_{user_id}",
        full_name="Анна Смирнова",
        locale="ru",
        city="Москва",
        consent_personal_data=True,
        consent_version="2025-01",
        registered_at=datetime.now(UTC),
    )


def payload(user_id: int) -> dict[str, Any]:
    """The CloudEvent exactly as `Messaging.publish` stores it in the outbox's `payload` column."""
    event = build_event(registered(user_id), event_id=str(uuid.uuid4()))
    return event.model_dump(mode="json", exclude_none=True)


def outbox_row(user_id: int) -> dict[str, Any]:
    """One outbox row with the values `Messaging.publish` would insert."""
    body = payload(user_id)
    return {
        "event_id": uuid.UUID(body["id"]),
        "event_type": body["type"],
        "partition_key": body.get("partitionkey"),
        "payload": body,
    }


def body_size(body: dict[str, Any]) -> int:
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())


class Receiver:
    """Consumes the bench queue and notes when each awaited message (by message id) arrives."""

    def __init__(self, queue: AbstractQueue) -> None:
        self.queue = queue
        self.received = 0
        self._waiters: dict[str, asyncio.Future[float]] = {}
        self._tag: str | None = None

    async def start(self) -> None:
        if self._tag is None:
            self._tag = await self.queue.consume(self._on_message, no_ack=True)

    async def stop(self) -> None:
        tag, self._tag = self._tag, None
        if tag is not None:
            await self.queue.cancel(tag)

    def expect(self, message_id: str) -> asyncio.Future[float]:
        """Register before publishing/committing; resolves to the receive time (perf_counter)."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters[message_id] = future
        return future

    def forget(self, message_id: str) -> None:
        self._waiters.pop(message_id, None)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        now = time.perf_counter()
        self.received += 1
        future = self._waiters.pop(message.message_id or "", None)
        if future is not None and not future.done():
            future.set_result(now)
