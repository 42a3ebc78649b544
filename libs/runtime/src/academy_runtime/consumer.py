"""Consumer runtime: durable queues, inbox de-duplication, retries through delay queues, dead letters.

For each `Consumer` (one purpose of one service) the runtime declares
- `<service>.<purpose>`: the durable queue, bound to the events exchange by the handled event types;
- `<service>.<purpose>.retry.<ms>`: one delay queue per backoff step; a message waits there for its
  TTL and is then dead-lettered straight back into the main queue;
- `<service>.<purpose>.dlq`: the dead-letter queue, with the reason in the message headers.

A handler runs in one database transaction together with the insert of the event id into the
service's inbox: a redelivered or duplicated event finds its id there and has no second effect.
A message that is not a valid event goes to the dead-letter queue at once; a handler that raises is
retried after 1 s, 5 s, 30 s... and dead-lettered after `consumer_max_attempts` attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import aio_pika
from academy_contracts import CloudEvent, EventData, InvalidEventError, parse_event
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from opentelemetry import trace
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_runtime import metrics
from academy_runtime.bus import connect, declare_events_exchange
from academy_runtime.health import Heartbeat
from academy_runtime.messaging import Messaging
from academy_runtime.resources import Resources
from academy_runtime.settings import ServiceSettings
from academy_runtime.telemetry import extract_context, tracer

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-attempt"
REASON_HEADER = "x-dead-letter-reason"
ERROR_HEADER = "x-dead-letter-error"
CONSUMER_HEADER = "x-dead-letter-consumer"
FAILED_AT_HEADER = "x-dead-letter-at"
ORIGINAL_KEY_HEADER = "x-original-routing-key"

M = TypeVar("M", bound=EventData)


def _as_int(value: object) -> int:
    """A header value as an int; brokers and other clients may send it as str, bytes or Decimal."""
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return 0


@dataclass
class EventContext:
    """What a handler gets besides the event's data: its transaction and the process's resources."""

    session: AsyncSession
    event: CloudEvent
    resources: Resources
    consumer: str
    attempt: int


Handler = Callable[[EventContext, Any], Awaitable[None]]


class Consumer:
    """One durable queue of a service for one purpose, with a handler per event type."""

    def __init__(self, purpose: str) -> None:
        self.purpose = purpose
        self.handlers: dict[str, Handler] = {}

    def on(self, model: type[M]) -> Callable[[Callable[[EventContext, M], Awaitable[None]]], Handler]:
        def register(func: Callable[[EventContext, M], Awaitable[None]]) -> Handler:
            if model.event_type in self.handlers:
                raise ValueError(f"{self.purpose} already handles {model.event_type}")
            self.handlers[model.event_type] = func
            return func

        return register

    @property
    def routing_keys(self) -> list[str]:
        return sorted(self.handlers)


@dataclass(frozen=True)
class QueueNames:
    main: str
    dlq: str
    retries: tuple[str, ...]
    delays_ms: tuple[int, ...]

    @classmethod
    def of(cls, queue: str, delays_ms: list[int]) -> QueueNames:
        delays = tuple(delays_ms) or (1_000,)
        return cls(
            main=queue,
            dlq=f"{queue}.dlq",
            retries=tuple(f"{queue}.retry.{ms}" for ms in delays),
            delays_ms=delays,
        )

    def retry_queue(self, attempt: int) -> str:
        """The delay queue a message goes to after failing attempt number `attempt` (1-based)."""
        return self.retries[min(attempt, len(self.retries)) - 1]


async def declare_topology(
    channel: AbstractChannel, resources: Resources | ServiceSettings, consumer: Consumer
) -> tuple[AbstractQueue, QueueNames]:
    settings = resources if isinstance(resources, ServiceSettings) else resources.settings
    names = QueueNames.of(settings.queue_name(consumer.purpose), settings.consumer_retry_delays_ms)
    exchange = await declare_events_exchange(channel, settings.events_exchange)
    args: dict[str, Any] = {"x-queue-type": settings.amqp_queue_type}
    expiry: dict[str, Any] = {"x-expires": settings.queue_expires_ms} if settings.queue_expires_ms else {}
    args.update(expiry)
    queue = await channel.declare_queue(names.main, durable=True, arguments=args)
    for key in consumer.routing_keys:
        await queue.bind(exchange, routing_key=key)
    await channel.declare_queue(names.dlq, durable=True, arguments=args)
    for retry_queue, delay in zip(names.retries, names.delays_ms, strict=True):
        await channel.declare_queue(
            retry_queue,
            durable=True,
            arguments={
                "x-message-ttl": delay,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": names.main,
                **expiry,
            },
        )
    return queue, names


async def declare_consumer_queues(settings: ServiceSettings, consumers: list[Consumer]) -> list[str]:
    """Declare the queues (with bindings, retry and dead-letter queues) of `consumers` and return their names.

    A message published to the exchange before its subscribers' queues exist goes nowhere, so a
    deployment declares every service's queues before anything publishes: the migration step does
    this (`academy-<service> migrate` runs it after the schema upgrade), and the worker declares the
    same queues again when it starts (declaring is idempotent).
    """
    if not consumers:
        return []
    connection = await aio_pika.connect(settings.rabbitmq_url)
    try:
        channel = await connection.channel()
        return [(await declare_topology(channel, settings, consumer))[1].main for consumer in consumers]
    finally:
        await connection.close()


class ConsumerRuntime:
    """Runs every consumer of a worker process on one robust connection."""

    def __init__(self, resources: Resources, messaging: Messaging, consumers: list[Consumer]) -> None:
        self.resources = resources
        self.messaging = messaging
        self.consumers = consumers
        self.service = resources.settings.service_name
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._names: dict[str, QueueNames] = {}
        self._monitor: asyncio.Task[None] | None = None
        # One per consumer: a message stuck in its handler makes the worker's liveness probe fail.
        self.heartbeats = {c.purpose: Heartbeat(f"consumer {c.purpose}") for c in consumers}

    async def start(self) -> None:
        self._connection = await connect(self.resources.settings, name="consumers")
        self._publish_channel = await self._connection.channel(publisher_confirms=True)
        for consumer in self.consumers:
            channel = await self._connection.channel()
            await channel.set_qos(prefetch_count=self.resources.settings.consumer_prefetch)
            queue, names = await declare_topology(channel, self.resources, consumer)
            self._names[consumer.purpose] = names

            async def on_message(message: AbstractIncomingMessage, consumer: Consumer = consumer) -> None:
                with self.heartbeats[consumer.purpose].working():
                    await self.handle(consumer, message)

            await queue.consume(on_message)
            log.info("consuming", extra={"queue": names.main, "types": consumer.routing_keys})
        self._monitor = asyncio.create_task(self._watch_dead_letters())

    @property
    def connected(self) -> bool:
        """Started, and its connection to the broker is open (a robust connection reconnects by itself)."""
        return self._connection is not None and not self._connection.is_closed

    async def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    # -- one message ---------------------------------------------------------------------------
    async def handle(self, consumer: Consumer, message: AbstractIncomingMessage) -> None:
        names = self._names[consumer.purpose]
        attempt = _as_int((message.headers or {}).get(ATTEMPT_HEADER)) + 1
        try:
            event, data = parse_event(message.body)
        except InvalidEventError as exc:
            log.warning("invalid event dead-lettered", extra={"queue": names.main, "reason": str(exc)})
            metrics.EVENTS_CONSUMED.labels(self.service, consumer.purpose, "invalid", "invalid").inc()
            await self._forward(message, names.dlq, {REASON_HEADER: "invalid", ERROR_HEADER: str(exc)[:1000]})
            return
        handler = consumer.handlers.get(event.type)
        if handler is None:
            # Bound by an older version of this consumer; nothing here handles it any more.
            metrics.EVENTS_CONSUMED.labels(self.service, consumer.purpose, event.type, "ignored").inc()
            await message.ack()
            return

        parent = extract_context({"traceparent": event.traceparent} if event.traceparent else message.headers)
        started = time.perf_counter()
        with tracer("academy.consumer").start_as_current_span(
            f"{event.type} process",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.destination.name": names.main,
                "messaging.message.id": event.id,
                "cloudevents.event_type": event.type,
                "messaging.consumer.attempt": attempt,
            },
        ) as span:
            try:
                outcome = await self._run_handler(consumer, handler, event, data, attempt)
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(trace.StatusCode.ERROR)
                await self._retry_or_dead_letter(consumer, message, event, attempt, exc)
                return
            finally:
                metrics.HANDLER_LATENCY.labels(self.service, consumer.purpose, event.type).observe(
                    time.perf_counter() - started
                )
        metrics.EVENTS_CONSUMED.labels(self.service, consumer.purpose, event.type, outcome).inc()
        await message.ack()

    async def _run_handler(
        self, consumer: Consumer, handler: Handler, event: CloudEvent, data: EventData, attempt: int
    ) -> str:
        inbox = self.messaging.inbox
        async with self.resources.sessionmaker() as session, session.begin():
            inserted = await session.execute(
                pg_insert(inbox)
                .values(self.messaging.inbox_values(event, consumer.purpose))
                .on_conflict_do_nothing()
                .returning(inbox.c.event_id)
            )
            if inserted.first() is None:
                return "duplicate"
            await handler(
                EventContext(
                    session=session,
                    event=event,
                    resources=self.resources,
                    consumer=consumer.purpose,
                    attempt=attempt,
                ),
                data,
            )
        return "handled"

    async def _retry_or_dead_letter(
        self,
        consumer: Consumer,
        message: AbstractIncomingMessage,
        event: CloudEvent,
        attempt: int,
        exc: Exception,
    ) -> None:
        names = self._names[consumer.purpose]
        max_attempts = self.resources.settings.consumer_max_attempts
        if attempt >= max_attempts:
            log.error(
                "event dead-lettered after retries",
                extra={"queue": names.main, "type": event.type, "event_id": event.id, "attempts": attempt},
                exc_info=exc,
            )
            metrics.EVENTS_CONSUMED.labels(self.service, consumer.purpose, event.type, "dead_lettered").inc()
            await self._forward(
                message,
                names.dlq,
                {REASON_HEADER: "handler_failed", ERROR_HEADER: repr(exc)[:1000], ATTEMPT_HEADER: attempt},
            )
            return
        log.warning(
            "event handler failed; will retry",
            extra={
                "queue": names.main,
                "type": event.type,
                "event_id": event.id,
                "attempt": attempt,
                "error": repr(exc),
            },
        )
        metrics.EVENTS_CONSUMED.labels(self.service, consumer.purpose, event.type, "retried").inc()
        await self._forward(message, names.retry_queue(attempt), {ATTEMPT_HEADER: attempt})

    async def _forward(self, message: AbstractIncomingMessage, queue: str, headers: dict[str, Any]) -> None:
        """Publish a copy to `queue` (confirmed), then ack the original; on failure requeue it."""
        assert self._publish_channel is not None
        all_headers = dict(message.headers or {})
        all_headers.setdefault(ORIGINAL_KEY_HEADER, message.routing_key or "")
        if queue.endswith(".dlq"):
            all_headers[CONSUMER_HEADER] = self.service
            all_headers[FAILED_AT_HEADER] = datetime.now(UTC).isoformat()
        all_headers.update(headers)
        copy = aio_pika.Message(
            body=message.body,
            headers=all_headers,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            type=message.type,
        )
        try:
            await self._publish_channel.default_exchange.publish(copy, routing_key=queue)
        except Exception:
            log.exception("could not move message; requeueing", extra={"queue": queue})
            await message.nack(requeue=True)
            return
        await message.ack()

    async def _watch_dead_letters(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                assert self._connection is not None
                channel = await self._connection.channel()
                try:
                    for names in self._names.values():
                        queue = await channel.declare_queue(names.dlq, passive=True)
                        count = queue.declaration_result.message_count or 0
                        metrics.DEAD_LETTERS.labels(self.service, names.dlq).set(count)
                finally:
                    await channel.close()
            await asyncio.sleep(15)
