"""Operators' view of dead letters: list them without consuming, re-drive them into the main queue.

Both read messages under `amqp_tables.bounded_header_decoding()`: a dead letter whose headers nest
hundreds of levels deep is listed (deep levels as a placeholder) instead of crashing the tool with a
RecursionError, and a re-drive publishes it with its headers cut to that depth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aio_pika

from academy_runtime.amqp_tables import bounded_header_decoding, render_header
from academy_runtime.bus import connect, connection_user
from academy_runtime.consumer import (
    ATTEMPT_HEADER,
    CONSUMER_HEADER,
    ERROR_HEADER,
    FAILED_AT_HEADER,
    REASON_HEADER,
    _as_int,
)
from academy_runtime.settings import ServiceSettings


@dataclass(frozen=True)
class DeadLetter:
    message_id: str | None
    event_type: str | None
    reason: str
    error: str
    attempts: int
    failed_at: str
    body_preview: str
    headers: dict[str, str]  # every header, each shown as bounded text (academy_runtime.amqp_tables)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _text(value: object) -> str:
    """A header that should hold text, as text (bounded, whatever a client put there)."""
    return value if isinstance(value, str) else render_header(value)


def _describe(message: aio_pika.abc.AbstractIncomingMessage) -> DeadLetter:
    headers = message.headers or {}
    event_type = message.type
    if event_type is None:
        try:
            event_type = json.loads(message.body).get("type")
        except (ValueError, AttributeError):
            event_type = None
    return DeadLetter(
        message_id=message.message_id,
        event_type=event_type,
        reason=_text(headers.get(REASON_HEADER, "")),
        error=_text(headers.get(ERROR_HEADER, "")),
        attempts=_as_int(headers.get(ATTEMPT_HEADER)),
        failed_at=_text(headers.get(FAILED_AT_HEADER, "")),
        body_preview=message.body[:300].decode("utf-8", "replace"),
        headers={str(key): render_header(value) for key, value in list(headers.items())[:50]},
    )


async def list_dead_letters(settings: ServiceSettings, purpose: str, limit: int = 100) -> list[DeadLetter]:
    """Read up to `limit` dead letters; they stay in the queue, in order."""
    with bounded_header_decoding():
        return await _list_dead_letters(settings, purpose, limit)


async def _list_dead_letters(settings: ServiceSettings, purpose: str, limit: int) -> list[DeadLetter]:
    dlq = f"{settings.queue_name(purpose)}.dlq"
    connection = await connect(settings, name="dlq-list")
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(dlq, passive=True)
        seen: list[DeadLetter] = []
        # Unacknowledged gets return to the queue when the channel closes, in their original order.
        while len(seen) < limit:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            seen.append(_describe(message))
        await channel.close()
        return seen
    finally:
        await connection.close()


async def redrive_dead_letters(settings: ServiceSettings, purpose: str, limit: int | None = None) -> int:
    """Move dead letters back to the main queue with a fresh attempt count; returns how many."""
    with bounded_header_decoding():
        return await _redrive_dead_letters(settings, purpose, limit)


async def _redrive_dead_letters(settings: ServiceSettings, purpose: str, limit: int | None) -> int:
    main = settings.queue_name(purpose)
    connection = await connect(settings, name="dlq-redrive")
    moved = 0
    try:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(f"{main}.dlq", passive=True)
        while limit is None or moved < limit:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            headers = {
                k: v
                for k, v in (message.headers or {}).items()
                if k not in {ATTEMPT_HEADER, REASON_HEADER, ERROR_HEADER, CONSUMER_HEADER, FAILED_AT_HEADER}
            }
            headers["x-redriven"] = True
            await channel.default_exchange.publish(
                aio_pika.Message(
                    body=message.body,
                    headers=headers,
                    content_type=message.content_type,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=message.message_id,
                    type=message.type,
                    # As this service's own user: the consumer then believes the first publisher and routing
                    # key recorded in the headers, and checks them again (academy_runtime.consumer).
                    user_id=connection_user(settings.rabbitmq_url),
                ),
                routing_key=main,
            )
            await message.ack()
            moved += 1
        return moved
    finally:
        await connection.close()
