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

Before a message is parsed, the runtime checks who sent it (issue 9 §4); a message that fails a check
is dead-lettered at once with the reason in `x-dead-letter-reason`, counted in
`academy_events_refused_total{stage="consume"}` and logged without its body:
- `oversized`: a body over MAX_EVENT_BYTES, refused unparsed;
- `unverified_publisher`: the broker-validated AMQP `user_id` is not the RabbitMQ user of the service the
  routing key names (`progress.*` must come from `<BUS_USER_PREFIX>progress`), or the message reached the
  queue some other way than the events exchange or this service's own retry path. Topic permissions
  already stop a service publishing another's routing keys; this check also stops a message published
  straight into a queue through the default exchange, or by a client with broader rights than a service;
- `source_mismatch`: the CloudEvents `source` is not `/beauty-academy/<the routing key's service>`;
- `routing_key_mismatch`: the CloudEvents `type` is not the routing key it was published with;
- `event_id_reused`: an id already in the inbox arrives with other content (see `event_digest`): not a
  redelivery, so it is reported instead of being acknowledged as a duplicate.

A message this service moves to its own retry or dead-letter queue is published by the consumer itself
(never rejected to a dead-letter exchange, which would keep the first publisher's `user_id` and make a
dead letter indistinguishable from one planted in the queue) through the default exchange as this
service's user, with the first publisher's user and routing key in `x-original-user-id` and
`x-original-routing-key`, and `x-original-verified` saying whether the consumer established them:
- the broker validates `user_id`, and every service may write to the default exchange, so anyone can put
  a message with forged `x-original-*` headers into this service's retry or dead-letter queue; only the
  `user_id` tells the copies this service made from the planted ones;
- `origin()` believes `x-original-*` only on a message that came back into the main queue through the
  default exchange under the main queue's name (from a retry queue's TTL, or re-driven) with this
  service's own `user_id`, and not marked unverified. A message planted in a retry queue by another
  user keeps that user's `user_id` through the broker's dead-lettering, so it is refused;
- a refused message whose origin could not be established keeps the `x-original-*` headers it came with
  (a letter re-driven by the wrong user does not lose its first publisher), marked
  `x-original-verified: false`, with the user that put it in the queue in `x-dead-letter-publisher`;
  `academy_runtime.dlq` never re-drives such a letter, nor one whose `user_id` is not this service's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import aio_pika
from academy_contracts import CloudEvent, EventData, InvalidEventError, parse_event
from academy_contracts.registry import SOURCE_PREFIX
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from opentelemetry import trace
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from academy_runtime import metrics
from academy_runtime.amqp_tables import install_bounded_header_decoding
from academy_runtime.bus import bus_user, connect, connection_user, declare_events_exchange, service_of
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
ORIGINAL_USER_HEADER = "x-original-user-id"
VERIFIED_HEADER = "x-original-verified"
"""True: the consumer established `x-original-*` from the broker; False: kept as the message claimed them."""
PUBLISHER_HEADER = "x-dead-letter-publisher"
"""On a dead letter: the broker user (`user_id`) of the message the consumer dead-lettered."""
REDRIVEN_HEADER = "x-redriven"

M = TypeVar("M", bound=EventData)


def _as_int(value: object) -> int:
    """A header value as an int; brokers and other clients may send it as str, bytes or Decimal."""
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return 0


def _header_text(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Origin:
    """Where a delivered message was first published: its routing key on the events exchange and the
    broker user that published it. `trusted`: both come from the broker (or from this service's own
    retry path), not from anything a publisher could write."""

    routing_key: str
    publisher: str
    trusted: bool


class RefusedEventError(Exception):
    """A message the bus checks refuse; `reason` becomes `x-dead-letter-reason`, `detail` the error
    header. Neither carries a value from the body (no personal data)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class EventContext:
    """What a handler gets besides the event's data: its transaction and the process's resources."""

    session: AsyncSession
    event: CloudEvent
    resources: Resources
    consumer: str
    attempt: int


Handler = Callable[[EventContext, Any], Awaitable[None]]


class CommitSignals:
    """Wakes, in this process, what waits for a consumer to be done with an event of a partition (a learner).

    A handler that must come after another event of the same learner (`Consumer.on(..., turn=...)`) looks
    in the database, and when it is not its turn yet, waits on `expect(...)` for the next look instead of
    polling at a fixed pace: set as soon as this process's consumer has finished an event of that partition
    (committed, or failed: either way something may have changed). Events another process handles are not
    signalled: a turn still looks again after a pause of its own.

    It also remembers the ids of the events the process's consumers committed lately (`handled_here`), so
    that a turn waiting for an event this process handled need not ask the database.
    """

    def __init__(self, remembered: int = 10_000) -> None:
        self._events: dict[tuple[str, str], asyncio.Event] = {}
        self._remembered = remembered
        self._committed: dict[tuple[str, str], None] = {}  # insertion-ordered: the oldest goes first

    def committed(self, consumer: str, event_id: str) -> None:
        """`consumer` committed the event `event_id` (handled, or found a duplicate) in this process.
        Called before `done(...)`, so that whoever it wakes already finds it in `handled_here`."""
        committed = self._committed
        committed[consumer, event_id] = None
        if len(committed) > self._remembered:
            del committed[next(iter(committed))]

    def handled_here(self, consumer: str, event_id: str) -> bool:
        """Whether `consumer` committed `event_id` in this process, among its last `remembered` events
        (10,000 by default). True is certain; False says nothing (another process, or longer ago)."""
        return (consumer, event_id) in self._committed

    def expect(self, consumer: str, partition: str) -> asyncio.Event:
        """An event set when `consumer` is next done with an event of `partition` in this process. Taken
        before looking at the database, so that a commit between the look and the wait is not missed."""
        return self._events.setdefault((consumer, partition), asyncio.Event())

    def done(self, consumer: str, partition: str | None) -> None:
        """`consumer` is done with an event of `partition`: wake whoever expected it. Every waiter is itself
        an event of that partition, which ends here too, so no key outlives its waiters."""
        if partition and (event := self._events.pop((consumer, partition), None)) is not None:
            event.set()


@dataclass(frozen=True)
class TurnContext:
    """What a handler's turn (`Consumer.on(..., turn=...)`) gets: the event and the process's resources,
    but no transaction, so that waiting holds no database connection."""

    event: CloudEvent
    resources: Resources
    consumer: str
    attempt: int
    signals: CommitSignals

    def next_commit(self) -> asyncio.Event:
        """Set when this consumer is next done, in this process, with another event of this event's
        partition (`partitionkey`: the learner). Take it before looking, wait on it after."""
        return self.signals.expect(self.consumer, self.event.partitionkey or "")

    def handled_here(self, event_id: str) -> bool:
        """Whether this consumer has committed the event `event_id` in this process, recently (its last
        10,000 events): when True, the database need not be asked; when False, it must be (the event may
        have been handled by another process, or before this one started)."""
        return self.signals.handled_here(self.consumer, event_id)


Turn = Callable[[TurnContext, Any], Awaitable[None]]
"""Awaited before an event's transaction begins: returns when the event may be handled, raises to hand it
back to the retry queues (`Consumer.on`)."""
PrepareBatch = Callable[[AsyncSession, list[Any]], Awaitable[None]]
"""Runs at the start of a batch's transaction with the data of its new events (`Consumer`)."""


@dataclass
class _Delivery:
    """A message that passed the bus checks and parsed, with the handler its type has."""

    consumer: Consumer
    message: AbstractIncomingMessage
    origin: Origin
    event: CloudEvent
    data: EventData
    handler: Handler
    attempt: int


class _Batcher:
    """Gathers one consumer's deliveries into batches of at most `consumer.batch_size`, and runs at most
    `parallel` batches at once (the prefetch window split between them).

    A delivery waits for no timer: a batch starts one loop iteration after its first delivery arrived, with
    what arrived meanwhile (the deliveries of one read from the socket), so a lone event is handled at
    once and a backlog in full batches.
    """

    def __init__(self, runtime: ConsumerRuntime, consumer: Consumer, parallel: int) -> None:
        self.runtime = runtime
        self.consumer = consumer
        self.parallel = max(1, parallel)
        self.pending: list[tuple[_Delivery, asyncio.Future[None]]] = []
        self.running: set[asyncio.Task[None]] = set()

    async def submit(self, delivery: _Delivery) -> None:
        """Queue `delivery` and return once it was handled (acknowledged, retried or dead-lettered)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((delivery, done))
        if len(self.running) < self.parallel:
            self.running.add(asyncio.create_task(self._drain()))
        await done

    async def _drain(self) -> None:
        try:
            await self._drain_pending()
        finally:
            # Synchronously with the check that nothing is pending: a delivery queued after this always
            # finds a free place and starts a drain of its own (a done callback would come too late).
            task = asyncio.current_task()
            if task is not None:
                self.running.discard(task)

    async def _drain_pending(self) -> None:
        await asyncio.sleep(0)  # let the deliveries of the same read join this batch
        while self.pending:
            batch = self.pending[: self.consumer.batch_size]
            del self.pending[: len(batch)]
            try:
                await self.runtime.process_batch([delivery for delivery, _ in batch])
            except BaseException as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                raise
            for _, done in batch:
                if not done.done():
                    done.set_result(None)


class Consumer:
    """One durable queue of a service for one purpose, with a handler per event type.

    `batch_size` > 1 lets the runtime handle up to that many deliveries in one database transaction
    (`ConsumerRuntime.process_batch`): one BEGIN/COMMIT, one connection checkout and one outbox NOTIFY
    for the lot instead of one each. Only for handlers whose every effect is in their transaction (or
    registered with `run_after_commit`): when a batch fails, it is rolled back and each of its events is
    handled again on its own, so anything a handler did outside the transaction would happen twice. A
    handler that takes per-learner locks must take them by the event's `partitionkey` (a batch is
    ordered by it, so that two batches take their locks in the same order and never deadlock), or have
    `prepare_batch` take them all first.
    In a batch the events the handlers publish reach the outbox table only after the last handler (one
    INSERT for the batch): a handler must not read or delete outbox rows of its own transaction.
    `prepare_batch(session, data)` runs first in a batch's transaction with the new events' data (the
    inbox has recorded them; duplicates left out): where the handlers' per-event work can be done for the
    whole batch at once, such as taking every learner's lock in one statement (`AdvisoryLock.hold_all`).
    A lone event is handled as if not batched, without it: handlers must not rely on it.
    """

    def __init__(
        self,
        purpose: str,
        *,
        batch_size: int = 1,
        prepare_batch: PrepareBatch | None = None,
        prefetch: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size is at least 1, not {batch_size}")
        if prefetch is not None and prefetch < 1:
            raise ValueError(f"prefetch is at least 1, not {prefetch}")
        self.purpose = purpose
        self.batch_size = batch_size
        self.prefetch = prefetch
        """Deliveries in the consumer's hands at once (AMQP `basic.qos`); None: `consumer_prefetch`. More for
        a consumer whose handlers mostly wait in their turn, which holds no connection."""
        self.prepare_batch = prepare_batch
        self.handlers: dict[str, Handler] = {}
        self.turns: dict[str, Turn] = {}
        """What each event type waits for before its transaction (`on(..., turn=...)`)."""
        self.unbatched: set[str] = set()
        """Event types always handled alone (`on(..., batch=False)`)."""

    def on(
        self,
        model: type[M],
        *,
        batch: bool = True,
        turn: Callable[[TurnContext, M], Awaitable[None]] | None = None,
    ) -> Callable[[Callable[[EventContext, M], Awaitable[None]]], Handler]:
        """Register the handler of `model`'s events. `batch=False`: its events are always handled alone, in
        a transaction of their own, even by a batching consumer — for a handler that waits for another
        event's effect to be committed (inside a batch it would wait holding the batch's locks, and for an
        event later in the same batch).

        `turn(ctx, data)`: for a handler that must come after another event's effect (a learner's facts
        told in the order they happened). Awaited before the event's transaction begins, so a wait holds
        no database connection and no transaction, and takes no inbox row; it returns when the event may be
        handled, or raises to send it to the retry queues like a failing handler. `ctx.next_commit()`
        wakes it when this consumer is done with another event of the same learner. Implies `batch=False`.
        """

        def register(func: Callable[[EventContext, M], Awaitable[None]]) -> Handler:
            if model.event_type in self.handlers:
                raise ValueError(f"{self.purpose} already handles {model.event_type}")
            self.handlers[model.event_type] = func
            if turn is not None:
                self.turns[model.event_type] = turn
            if not batch or turn is not None:
                self.unbatched.add(model.event_type)
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
        self.own_user = connection_user(resources.settings.rabbitmq_url)
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._names: dict[str, QueueNames] = {}
        self._batchers: dict[str, _Batcher] = {}
        self._monitor: asyncio.Task[None] | None = None
        self.signals = CommitSignals()
        """Wakes the turns waiting for a learner's other events (`Consumer.on(..., turn=...)`)."""
        # One per consumer: a message stuck in its handler makes the worker's liveness probe fail.
        self.heartbeats = {c.purpose: Heartbeat(f"consumer {c.purpose}") for c in consumers}

    async def start(self) -> None:
        """Connect, declare every consumer's queues and start consuming (raises what aio-pika raises
        while the broker is unreachable; the worker retries)."""
        install_bounded_header_decoding()  # a deeply nested header must not kill the connection
        self._connection = await connect(self.resources.settings, name="consumers")
        self._publish_channel = await self._connection.channel(publisher_confirms=True)
        for consumer in self.consumers:
            channel = await self._connection.channel()
            prefetch = consumer.prefetch or self.resources.settings.consumer_prefetch
            await channel.set_qos(prefetch_count=prefetch)
            queue, names = await declare_topology(channel, self.resources, consumer)
            self._names[consumer.purpose] = names
            if consumer.batch_size > 1:
                parallel = -(-prefetch // consumer.batch_size)
                self._batchers[consumer.purpose] = _Batcher(self, consumer, parallel)

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
    def origin(self, message: AbstractIncomingMessage, names: QueueNames | None = None) -> Origin:
        """Who first published `message`, and under which routing key (see the module docstring).

        `names`: the queues of the consumer that received it; the `x-original-*` headers are believed only
        on a message that came into that consumer's main queue through this service's own retry or re-drive
        path (default exchange, the main queue's name, `x-death` from one of its retry queues or
        `x-redriven`) with this service's own broker-validated `user_id`, and not marked unverified."""
        settings = self.resources.settings
        if message.exchange == settings.events_exchange:
            return Origin(message.routing_key or "", message.user_id or "", trusted=True)
        if names is not None and self._own_path(message, names):
            headers = message.headers or {}
            return Origin(
                _header_text(headers.get(ORIGINAL_KEY_HEADER)),
                _header_text(headers.get(ORIGINAL_USER_HEADER)),
                trusted=True,
            )
        return Origin("", message.user_id or "", trusted=False)

    def _own_path(self, message: AbstractIncomingMessage, names: QueueNames) -> bool:
        if message.exchange != "" or message.routing_key != names.main or message.user_id != self.own_user:
            return False
        headers = message.headers or {}
        if headers.get(VERIFIED_HEADER) is False:
            return False
        if headers.get(REDRIVEN_HEADER) is True:
            return True
        deaths = headers.get("x-death")
        last = deaths[0] if isinstance(deaths, list) and deaths else None
        return isinstance(last, dict) and _header_text(last.get("queue")) in names.retries

    def check_publisher(self, message: AbstractIncomingMessage, origin: Origin) -> dict[str, Any] | None:
        """Refuse (RefusedEventError) a message that is too large or not provably from the service its
        routing key names; return its JSON object when it is one (None: let the parser say what is wrong)."""
        settings = self.resources.settings
        if len(message.body) > settings.max_event_bytes:
            raise RefusedEventError(
                "oversized", f"body of {len(message.body)} bytes over the limit of {settings.max_event_bytes}"
            )
        key_service = service_of(origin.routing_key)
        if settings.bus_verify_publisher:
            expected = bus_user(settings.bus_user_prefix, key_service)
            if not origin.trusted:
                raise RefusedEventError(
                    "unverified_publisher",
                    f"published by {origin.publisher or 'an unnamed user'} straight into the queue, not through "
                    f"{settings.events_exchange}",
                )
            if origin.publisher != expected:
                raise RefusedEventError(
                    "unverified_publisher",
                    f"routing key {origin.routing_key!r} belongs to {expected!r}, "
                    f"but the message was published by {origin.publisher or 'an unnamed user'!r}",
                )
        try:
            raw = json.loads(message.body)
        except (ValueError, RecursionError):
            return None
        if not isinstance(raw, dict):
            return None
        if origin.routing_key:
            # Missing or non-text attributes are left to the parser, which calls the message invalid.
            source, event_type = raw.get("source"), raw.get("type")
            if isinstance(source, str) and source != f"{SOURCE_PREFIX}{key_service}":
                raise RefusedEventError(
                    "source_mismatch", f"source {source[:100]!r} is not the routing key's service {key_service!r}"
                )
            if isinstance(event_type, str) and event_type != origin.routing_key:
                raise RefusedEventError(
                    "routing_key_mismatch",
                    f"type {event_type[:200]!r} published under routing key {origin.routing_key!r}",
                )
        return raw

    async def handle(self, consumer: Consumer, message: AbstractIncomingMessage) -> None:
        """Check, parse and handle one delivered message (in a batch when the consumer batches)."""
        delivery = await self._prepare(consumer, message)
        if delivery is None:
            return
        batcher = self._batchers.get(consumer.purpose)
        if batcher is None or delivery.event.type in consumer.unbatched:
            await self._process_one(delivery)
        else:
            await batcher.submit(delivery)

    async def _prepare(self, consumer: Consumer, message: AbstractIncomingMessage) -> _Delivery | None:
        """The delivery to handle, or None when the message was refused, dead-lettered as invalid or
        acknowledged as a type nothing handles any more."""
        names = self._names[consumer.purpose]
        attempt = _as_int((message.headers or {}).get(ATTEMPT_HEADER)) + 1
        origin = self.origin(message, names)
        try:
            raw = self.check_publisher(message, origin)
            event, data = parse_event(message.body if raw is None else raw)
        except RefusedEventError as refused:
            await self._refuse(consumer, message, origin, refused)
            return None
        except InvalidEventError as exc:
            log.warning("invalid event dead-lettered", extra={"queue": names.main, "reason": str(exc)})
            metrics.EVENTS_CONSUMED.labels(self.service, consumer.purpose, "invalid", "invalid").inc()
            await self._forward(message, names.dlq, origin, {REASON_HEADER: "invalid", ERROR_HEADER: str(exc)[:1000]})
            return None
        handler = consumer.handlers.get(event.type)
        if handler is None:
            # Bound by an older version of this consumer; nothing here handles it any more.
            metrics.EVENTS_CONSUMED.labels(self.service, consumer.purpose, event.type, "ignored").inc()
            await message.ack()
            return None
        return _Delivery(consumer, message, origin, event, data, handler, attempt)

    def _span(self, delivery: _Delivery, batch_size: int = 1) -> Any:
        """The CONSUMER span of handling one event, a child of the trace the event carries."""
        event = delivery.event
        parent = extract_context({"traceparent": event.traceparent} if event.traceparent else delivery.message.headers)
        attributes: dict[str, Any] = {
            "messaging.system": "rabbitmq",
            "messaging.destination.name": self._names[delivery.consumer.purpose].main,
            "messaging.message.id": event.id,
            "cloudevents.event_type": event.type,
            "messaging.consumer.attempt": delivery.attempt,
        }
        if batch_size > 1:
            attributes["messaging.batch.message_count"] = batch_size
        return tracer("academy.consumer").start_as_current_span(
            f"{event.type} process", context=parent, kind=trace.SpanKind.CONSUMER, attributes=attributes
        )

    async def _process_one(self, delivery: _Delivery) -> None:
        """Handle one event in a transaction of its own; ack, or retry / dead-letter it."""
        consumer, message, origin, event = delivery.consumer, delivery.message, delivery.origin, delivery.event
        started = time.perf_counter()
        with self._span(delivery) as span:
            try:
                if (turn := consumer.turns.get(event.type)) is not None:
                    await turn(
                        TurnContext(event, self.resources, consumer.purpose, delivery.attempt, self.signals),
                        delivery.data,
                    )
                async with self.resources.sessionmaker() as session, session.begin():
                    outcome = await self._run_handler(session, delivery)
                self.signals.committed(consumer.purpose, event.id)
            except RefusedEventError as refused:
                span.set_status(trace.StatusCode.ERROR, refused.reason)
                await self._refuse(consumer, message, origin, refused, event)
                return
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(trace.StatusCode.ERROR)
                await self._retry_or_dead_letter(consumer, message, origin, event, delivery.attempt, exc)
                return
            finally:
                metrics.HANDLER_LATENCY.labels(self.service, consumer.purpose, event.type).observe(
                    time.perf_counter() - started
                )
                self.signals.done(consumer.purpose, event.partitionkey)
        metrics.EVENTS_CONSUMED.labels(self.service, consumer.purpose, event.type, outcome).inc()
        await message.ack()

    async def process_batch(self, deliveries: list[_Delivery]) -> None:
        """Handle `deliveries` (of one consumer) in one transaction, in the order of their `partitionkey`
        (stable: one learner's events keep their order), then ack each.

        When anything in the batch fails (a handler raises, a refused event, a deadlock, the commit), the
        transaction is rolled back and each event is handled again on its own (`_process_one`), so a
        failing event is retried or dead-lettered alone and the others are handled as if never batched.
        A duplicate inside the batch (the same event id twice) is found by the inbox as usual. The events
        the handlers publish are written to the outbox in one INSERT after the last handler
        (`Messaging.defer_outbox_writes`), in the order they were published.
        """
        if len(deliveries) == 1:
            await self._process_one(deliveries[0])
            return
        ordered = sorted(deliveries, key=lambda delivery: delivery.event.partitionkey or "")
        consumer = ordered[0].consumer
        outcomes: list[tuple[_Delivery, str, float]] = []
        try:
            async with self.resources.sessionmaker() as session, session.begin():
                # Every inbox row in one statement; an event whose row was there (or is twice in the batch)
                # goes through the duplicate check of `_run_handler`.
                rows = [self.messaging.inbox_values(delivery.event, consumer.purpose) for delivery in ordered]
                fresh = set((await session.execute(self.messaging.inbox_insert, rows)).scalars())
                recorded = []
                for delivery in ordered:
                    recorded.append(delivery.event.id in fresh)
                    fresh.discard(delivery.event.id)
                if consumer.prepare_batch is not None:
                    new = [delivery.data for delivery, is_new in zip(ordered, recorded, strict=True) if is_new]
                    await consumer.prepare_batch(session, new)
                # The events the handlers publish go to the outbox in one INSERT once they are all done.
                self.messaging.defer_outbox_writes(session)
                for delivery, is_new in zip(ordered, recorded, strict=True):
                    started = time.perf_counter()
                    with self._span(delivery, len(ordered)):
                        outcome = await self._run_handler(session, delivery, recorded=is_new)
                    outcomes.append((delivery, outcome, time.perf_counter() - started))
                await self.messaging.write_deferred_outbox(session)
        except Exception as exc:  # every failure falls back to one by one
            queue = self._names[ordered[0].consumer.purpose].main
            log.info(
                "event batch rolled back; handling its events one by one",
                extra={"queue": queue, "events": len(ordered), "error": repr(exc)},
            )
            metrics.CONSUMER_BATCH_FALLBACKS.labels(self.service, ordered[0].consumer.purpose).inc()
            for delivery in ordered:
                await self._process_one(delivery)
            return
        for delivery, outcome, seconds in outcomes:
            purpose, event_type = delivery.consumer.purpose, delivery.event.type
            metrics.HANDLER_LATENCY.labels(self.service, purpose, event_type).observe(seconds)
            metrics.EVENTS_CONSUMED.labels(self.service, purpose, event_type, outcome).inc()
            self.signals.committed(purpose, delivery.event.id)
        for delivery, _, _ in outcomes:  # once all are known committed: a woken turn finds any of them
            self.signals.done(delivery.consumer.purpose, delivery.event.partitionkey)
        for delivery in ordered:
            await delivery.message.ack()

    async def _run_handler(self, session: AsyncSession, delivery: _Delivery, *, recorded: bool | None = None) -> str:
        """Record the event in the inbox and run its handler in `session`'s transaction: "handled", or
        "duplicate" when the inbox already had it (RefusedEventError when it had it with other content).
        `recorded`: whether the caller's insert of the inbox row inserted it (a batch inserts them all at
        once); None: insert it here."""
        consumer, event = delivery.consumer, delivery.event
        inbox = self.messaging.inbox
        if recorded is None:
            inserted = await session.execute(
                self.messaging.inbox_insert, self.messaging.inbox_values(event, consumer.purpose)
            )
            recorded = inserted.first() is not None
        if not recorded:
            stored = (
                await session.execute(
                    select(inbox.c.digest).where(inbox.c.event_id == event.id, inbox.c.consumer == consumer.purpose)
                )
            ).scalar()
            digest = self.messaging.inbox_values(event, consumer.purpose)["digest"]
            if stored is not None and stored != digest:
                raise RefusedEventError(
                    "event_id_reused",
                    f"event id {event.id} was handled before with other content (digest {stored[:12]}…, "
                    f"now {digest[:12]}…)",
                )
            return "duplicate"
        await delivery.handler(
            EventContext(
                session=session,
                event=event,
                resources=self.resources,
                consumer=consumer.purpose,
                attempt=delivery.attempt,
            ),
            delivery.data,
        )
        return "handled"

    async def _retry_or_dead_letter(  # noqa: PLR0917 - private, called from one place
        self,
        consumer: Consumer,
        message: AbstractIncomingMessage,
        origin: Origin,
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
                origin,
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
        await self._forward(message, names.retry_queue(attempt), origin, {ATTEMPT_HEADER: attempt})

    async def _refuse(
        self,
        consumer: Consumer,
        message: AbstractIncomingMessage,
        origin: Origin,
        refused: RefusedEventError,
        event: CloudEvent | None = None,
    ) -> None:
        """Dead-letter a message the bus checks refuse: at once, counted, logged without its body."""
        names = self._names[consumer.purpose]
        log.warning(
            "event refused and dead-lettered",
            extra={
                "queue": names.main,
                "reason": refused.reason,
                "error": refused.detail,
                "routing_key": origin.routing_key,
                "publisher": origin.publisher,
                "event_id": event.id if event is not None else message.message_id,
            },
        )
        metrics.EVENTS_REFUSED.labels(self.service, consumer.purpose, "consume", refused.reason).inc()
        event_type = event.type if event is not None else "unknown"
        metrics.EVENTS_CONSUMED.labels(self.service, consumer.purpose, event_type, "refused").inc()
        await self._forward(
            message, names.dlq, origin, {REASON_HEADER: refused.reason, ERROR_HEADER: refused.detail[:1000]}
        )

    async def _forward(
        self, message: AbstractIncomingMessage, queue: str, origin: Origin, headers: dict[str, Any]
    ) -> None:
        """Publish a copy to `queue` (confirmed) as this service's user, then ack the original; on failure
        requeue it. A trusted `origin` is written into the copy's `x-original-*` headers, whatever headers
        the message came with; an untrusted one leaves them as claimed and marks the copy unverified."""
        assert self._publish_channel is not None
        all_headers = dict(message.headers or {})
        if origin.trusted:
            all_headers[ORIGINAL_KEY_HEADER] = origin.routing_key
            all_headers[ORIGINAL_USER_HEADER] = origin.publisher
        # Untrusted: whatever x-original-* it came with stay as they were (a letter re-driven by the wrong
        # user keeps its first publisher), marked as claims this service could not check.
        all_headers[VERIFIED_HEADER] = origin.trusted
        all_headers.pop(REDRIVEN_HEADER, None)
        if queue.endswith(".dlq"):
            all_headers[CONSUMER_HEADER] = self.service
            all_headers[FAILED_AT_HEADER] = datetime.now(UTC).isoformat()
            all_headers[PUBLISHER_HEADER] = message.user_id or ""
        all_headers.update(headers)
        copy = aio_pika.Message(
            body=message.body,
            headers=all_headers,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            type=message.type,
            user_id=self.own_user,
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
