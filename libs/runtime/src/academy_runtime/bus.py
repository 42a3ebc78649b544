"""RabbitMQ plumbing shared by the relay, the consumers and the dead-letter tool."""

from __future__ import annotations

import json
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from academy_runtime.settings import ServiceSettings

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"


async def connect(settings: ServiceSettings, *, name: str = "") -> AbstractRobustConnection:
    """A robust connection: it reconnects and re-declares its topology after a broker restart."""
    return await aio_pika.connect_robust(
        settings.rabbitmq_url,
        client_properties={"connection_name": f"{settings.service_name}{':' + name if name else ''}"},
    )


async def declare_events_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)


def event_message(payload: dict[str, Any], *, headers: dict[str, Any] | None = None) -> aio_pika.Message:
    """A persistent AMQP message carrying one structured-mode CloudEvent."""
    all_headers: dict[str, Any] = {"ce-type": payload["type"], "ce-id": payload["id"]}
    if payload.get("traceparent"):
        all_headers["traceparent"] = payload["traceparent"]
    if payload.get("partitionkey"):
        all_headers["partitionkey"] = payload["partitionkey"]
    all_headers.update(headers or {})
    return aio_pika.Message(
        body=json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode(),
        content_type=CLOUDEVENTS_CONTENT_TYPE,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(payload["id"]),
        type=str(payload["type"]),
        headers=all_headers,
    )
