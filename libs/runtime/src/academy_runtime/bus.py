"""RabbitMQ plumbing shared by the relay, the consumers and the dead-letter tool.

Who published a message is proven by the broker, not claimed by the message: every service connects
as its own RabbitMQ user (`<BUS_USER_PREFIX><service>`, see `academy_runtime.bus_provisioning`) and
sets the AMQP `user_id` property to that user on everything it publishes. RabbitMQ refuses a publish
whose `user_id` is not the connection's user, and the user's topic permissions on the events
exchange let it publish only its own routing keys (`^users\\.` for users). Consumers then require
`user_id` to be the user of the service the routing key names (`academy_runtime.consumer`).

The events exchange belongs to the platform, not to a service: provisioning declares it (the definitions
document of `academy_runtime.bus_provisioning`), a service only looks it up (a passive declare), and no
service user has configure permission on it, so none can delete it or redeclare it otherwise.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlsplit

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from academy_runtime.settings import ServiceSettings

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"

DEFAULT_MAX_EVENT_BYTES: int = ServiceSettings.model_fields["max_event_bytes"].default
"""Largest message body (bytes of UTF-8 JSON) a producer may publish and a consumer will parse.

Events carry ids and a few fields, never files: the largest real event is well under 4 KiB. The limit
keeps one oversized (or hostile) message from costing every consumer its memory and parse time.
Setting: MAX_EVENT_BYTES."""


class EventTooLargeError(ValueError):
    """An event whose JSON body exceeds the bus's size limit; it is not published.

    Raised when the event is written to the outbox (so the command that produced it fails in its own
    transaction) and, as a backstop, by the relay. `size` and `limit` are bytes.
    """

    def __init__(self, event_type: str, size: int, limit: int) -> None:
        super().__init__(
            f"{event_type} event is {size} bytes, over the bus limit of {limit} bytes (MAX_EVENT_BYTES); "
            "put large content in object storage and send its key"
        )
        self.event_type = event_type
        self.size = size
        self.limit = limit


def connection_user(rabbitmq_url: str) -> str:
    """The RabbitMQ user a connection to `rabbitmq_url` authenticates as (URL-decoded; `guest` when unset)."""
    user = urlsplit(rabbitmq_url).username
    return unquote(user) if user else "guest"


def bus_user(prefix: str, service: str) -> str:
    """The RabbitMQ user of `service` (`users`, `gateway-bot`...): `<prefix><service>`."""
    return f"{prefix}{service}"


def service_of(routing_key: str) -> str:
    """The service that owns a routing key: its first dot-separated word (`progress.lesson_completed.v1`)."""
    return routing_key.split(".", 1)[0]


async def connect(settings: ServiceSettings, *, name: str = "") -> AbstractRobustConnection:
    """A robust connection: it reconnects and re-declares its topology after a broker restart."""
    return await aio_pika.connect_robust(
        settings.rabbitmq_url,
        client_properties={"connection_name": f"{settings.service_name}{':' + name if name else ''}"},
    )


class EventsExchangeMissingError(RuntimeError):
    """The events exchange does not exist: the bus has not been provisioned (or someone deleted it)."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"the events exchange {name!r} does not exist: run `academy-platform provision-bus` (make run, "
            "docker-compose's bus-provision and the Kubernetes provisioning Job do), which declares it"
        )
        self.name = name


async def declare_events_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    """The events exchange, looked up with a passive declare: provisioning creates it, and a service's
    broker user has no configure permission on it (it could not declare it, nor delete it).
    EventsExchangeMissingError when it does not exist (the channel is then closed by the broker)."""
    try:
        return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True, passive=True)
    except aio_pika.exceptions.ChannelNotFoundEntity as exc:
        raise EventsExchangeMissingError(name) from exc


async def create_events_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    """Declare the events exchange (durable topic), as provisioning does; needs configure permission on it,
    which only an administrator has (the test platform and `make run` without per-service users)."""
    return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)


def encode_event(payload: dict[str, Any]) -> bytes:
    """The message body of one structured-mode CloudEvent: compact UTF-8 JSON."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def event_message(
    payload: dict[str, Any],
    *,
    headers: dict[str, Any] | None = None,
    user_id: str | None = None,
    max_bytes: int | None = None,
) -> aio_pika.Message:
    """A persistent AMQP message carrying one structured-mode CloudEvent.

    `user_id` must be the publishing connection's own user (`connection_user(settings.rabbitmq_url)`):
    the broker refuses the publish otherwise, which is what makes it proof of the publisher.
    `max_bytes`: refuse (EventTooLargeError) a body longer than this many bytes.
    """
    body = encode_event(payload)
    if max_bytes is not None and len(body) > max_bytes:
        raise EventTooLargeError(str(payload.get("type")), len(body), max_bytes)
    all_headers: dict[str, Any] = {"ce-type": payload["type"], "ce-id": payload["id"]}
    if payload.get("traceparent"):
        all_headers["traceparent"] = payload["traceparent"]
    if payload.get("partitionkey"):
        all_headers["partitionkey"] = payload["partitionkey"]
    all_headers.update(headers or {})
    return aio_pika.Message(
        body=body,
        content_type=CLOUDEVENTS_CONTENT_TYPE,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(payload["id"]),
        type=str(payload["type"]),
        headers=all_headers,
        user_id=user_id,
    )
