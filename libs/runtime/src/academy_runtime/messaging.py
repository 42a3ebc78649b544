"""The outbox and inbox tables of one service, and the call that writes an event to the outbox.

Every service's schema has the same two tables. An event is written to `outbox` in the same
transaction as the state change it describes (so a rolled-back transaction publishes nothing), and
a `NOTIFY` wakes the relay when that transaction commits. Consumers record every event id they
handle in `inbox` in the same transaction as their effects, so a redelivered event has one effect.
With the id they keep a digest of the event's content: the same id arriving with other content is not a
redelivery but a producer bug or a forgery, and is dead-lettered as `event_id_reused` (see consumer.py).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from academy_contracts import CloudEvent, EventData, build_event
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_runtime.bus import DEFAULT_MAX_EVENT_BYTES, EventTooLargeError, encode_event
from academy_runtime.idempotency import IdempotencyStore, ResponseCipher, idempotency_table
from academy_runtime.telemetry import current_traceparent


def notify_channel(schema: str) -> str:
    return f"{schema}_outbox"


# The attributes that make up what an event says. Transport and tracing attributes (traceparent,
# specversion, datacontenttype) may differ between two honest copies of one event and are left out.
_CONTENT_ATTRIBUTES = ("type", "source", "subject", "time", "data")


def event_digest(event: CloudEvent) -> str:
    """SHA-256 (64 hex characters) of the event's content: type, source, subject, time and data as
    canonical JSON (sorted keys, no spaces). Two deliveries of one event have the same digest; an id
    reused for another event has another."""
    content = event.model_dump(mode="json", include=set(_CONTENT_ATTRIBUTES))
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Messaging:
    """Outbox, inbox and idempotency-key tables in one service's metadata, plus `publish()`."""

    def __init__(
        self,
        metadata: MetaData,
        *,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        idempotency_subjects: bool = False,
        idempotency_response_cipher: ResponseCipher | None = None,
    ) -> None:
        if metadata.schema is None:
            raise ValueError("service metadata must name its schema")
        self.schema: str = metadata.schema
        self.max_event_bytes = max_event_bytes
        self.outbox = Table(
            "outbox",
            metadata,
            Column("id", BigInteger, primary_key=True, autoincrement=True),
            Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
            Column("event_type", String(200), nullable=False),
            Column("partition_key", String(100), nullable=True),
            Column("payload", JSONB, nullable=False),
            Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            Column("published_at", DateTime(timezone=True), nullable=True),
            Column("attempts", Integer, nullable=False, server_default=text("0")),
            Column("last_error", Text, nullable=True),
            # Set by the relay on a row that can never be published (over MAX_EVENT_BYTES, not a
            # CloudEvent it can encode): the row is kept with its error for operators, and the rows
            # behind it go out. Clearing it (after raising the limit, say) makes the relay try again.
            Column("parked_at", DateTime(timezone=True), nullable=True),
            # The relay only ever scans rows waiting to be published; a partial index keeps that cheap
            # however many published rows wait for the retention sweep.
            Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL AND parked_at IS NULL")),
            Index("ix_outbox_published_at", "published_at"),
        )
        self.inbox = Table(
            "inbox",
            metadata,
            # CloudEvents ids are strings; other teams' producers need not use UUIDs.
            Column("event_id", String(200), primary_key=True),
            Column("consumer", String(200), primary_key=True),
            Column("event_type", String(200), nullable=False),
            Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            # event_digest() of what was handled; NULL for rows from before the column existed.
            Column("digest", String(64), nullable=True),
        )

        # Built once (each is run for every event; building it per call costs more than running it).
        self._outbox_insert = insert(self.outbox)
        self._notify = text(f"NOTIFY {self.channel}")
        self.inbox_insert = pg_insert(self.inbox).on_conflict_do_nothing().returning(self.inbox.c.event_id)
        """INSERT … ON CONFLICT DO NOTHING RETURNING event_id of one inbox row (`inbox_values`' keys as
        parameters): a row back means the event is new to the consumer."""

        # idempotency_subjects: a `subject` column naming whom each stored answer is about, for services
        # that erase people (academy_runtime.idempotency). idempotency_response_cipher: stored answers
        # encrypted with the service's keys, for services whose answers hold personal data.
        self.idempotency = IdempotencyStore(
            idempotency_table(metadata, with_subject=idempotency_subjects),
            response_cipher=idempotency_response_cipher,
        )

    @property
    def channel(self) -> str:
        return notify_channel(self.schema)

    async def publish(
        self,
        session: AsyncSession,
        data: EventData,
        *,
        event_id: uuid.UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> CloudEvent:
        """Write `data` to the outbox in the session's transaction; the relay publishes it after commit.

        A deterministic `event_id` (for example derived from the command that caused it) makes a
        retried command produce the same event instead of a second one.

        Raises EventTooLargeError when the event's JSON is longer than `max_event_bytes` (256 KiB by
        default): the bus would refuse it, so the command that produced it fails now, in its transaction.
        """
        return (await self.publish_all(session, [(data, event_id)], occurred_at=occurred_at))[0]

    async def publish_all(
        self,
        session: AsyncSession,
        events: Sequence[tuple[EventData, uuid.UUID | None]],
        *,
        occurred_at: datetime | None = None,
    ) -> list[CloudEvent]:
        """`publish` for several events (data, event id or None) in one INSERT: the relay publishes them in
        this order. Raises EventTooLargeError as `publish` does, before anything is written."""
        at = occurred_at or datetime.now(UTC)
        traceparent = current_traceparent()
        built, rows = [], []
        for data, event_id in events:
            event = build_event(data, event_id=str(event_id or uuid.uuid4()), time=at, traceparent=traceparent)
            payload = event.model_dump(mode="json", exclude_none=True)
            size = len(encode_event(payload))
            if size > self.max_event_bytes:
                raise EventTooLargeError(event.type, size, self.max_event_bytes)
            built.append(event)
            rows.append(
                {
                    "event_id": uuid.UUID(event.id),
                    "event_type": event.type,
                    "partition_key": event.partitionkey,
                    "payload": payload,
                }
            )
        if not rows:
            return []
        deferred = session.info.get(self._deferred_key)
        # A consumer's batch: written once its handlers are done. Not from inside a savepoint, whose
        # rollback must take the rows with it.
        if deferred is not None and session.sync_session.get_nested_transaction() is None:
            deferred.extend(rows)
            return built
        # Several rows: one executemany (asyncpg sends them in one round trip), not one statement each.
        await session.execute(self._outbox_insert, rows[0] if len(rows) == 1 else rows)
        await self._notify_relay(session)
        return built

    @property
    def _deferred_key(self) -> str:
        return f"academy_runtime.outbox_deferred:{self.schema}"

    def defer_outbox_writes(self, session: AsyncSession) -> None:
        """From now on, `publish` and `publish_all` in `session` check and build their events at once but
        keep the outbox rows until `write_deferred_outbox(session)`, which writes them all in one
        executemany (in the order they were published: the relay publishes them in that order).

        For a consumer's batch (`ConsumerRuntime.process_batch`): one INSERT for the batch's events instead
        of one per handler. Its handlers must therefore not read or delete outbox rows of their own
        transaction. Rows never written are dropped with the session (a rolled-back batch). An event published
        inside a savepoint (`begin_nested`) is written at once, so that the savepoint's rollback takes it."""
        session.info[self._deferred_key] = []

    async def write_deferred_outbox(self, session: AsyncSession) -> int:
        """Write the rows `defer_outbox_writes` kept (and NOTIFY the relay), and stop deferring; how many."""
        rows: list[dict[str, Any]] = session.info.pop(self._deferred_key, None) or []
        if rows:
            await session.execute(self._outbox_insert, rows[0] if len(rows) == 1 else rows)
            await self._notify_relay(session)
        return len(rows)

    async def _notify_relay(self, session: AsyncSession) -> None:
        """NOTIFY the relay once per transaction (and per savepoint, whose rollback would drop it).

        A NOTIFY is delivered when the transaction commits and dropped on rollback, and PostgreSQL folds
        identical ones into one: a second in the same transaction only costs a round trip (a gamification
        event publishes two or three events).
        """
        sync = session.sync_session
        scope = sync.get_nested_transaction() or sync.get_transaction()
        key = f"academy_runtime.outbox_notified:{self.channel}"
        if scope is not None and session.info.get(key) is scope:
            return
        await session.execute(self._notify)
        session.info[key] = scope

    def inbox_values(self, event: CloudEvent, consumer: str) -> dict[str, Any]:
        """The inbox row recording that `consumer` handled `event` (with the digest of its content)."""
        return {"event_id": event.id, "consumer": consumer, "event_type": event.type, "digest": event_digest(event)}
