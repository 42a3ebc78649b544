"""The outbox relay: publishes committed events, never loses one, survives restarts.

Loop: claim a batch of unpublished rows with `FOR UPDATE SKIP LOCKED` (several relays share the work
without publishing a row twice at the same time), publish each as a persistent message and wait for
the broker's confirms, then mark the batch published in the same transaction. If the broker or the
database fails half-way the transaction rolls back and the rows are published again later:
delivery is at least once, and consumers' inboxes turn that into exactly one effect.

The relay sleeps on `LISTEN <schema>_outbox` and wakes on the `NOTIFY` that every outbox insert
sends at commit, with a slow poll as a safety net for a missed notification.

Every message carries the AMQP `user_id` of the relay's broker user (the broker checks it against the
connection), so consumers can tell which service published it.

A row that can never be published — its body is over MAX_EVENT_BYTES, or its payload is not a CloudEvent
the relay can encode — is parked instead of retried: `parked_at` and `last_error` are set in the same
transaction that marks the batch's other rows published, it is logged and counted in
`academy_outbox_parked_total{reason}` (and, oversized, `academy_events_refused_total{stage="publish"}`),
and no later claim takes it again. The rows behind it therefore go out, in order, however many such rows
there are. A broker failure is never a reason to park: the whole batch is retried, as above. An operator
who clears `parked_at` (after raising the limit, say) has the relay try the row again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import asyncpg
from aio_pika import Message
from aio_pika.abc import AbstractConnection, AbstractExchange
from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from academy_runtime import metrics
from academy_runtime.bus import EventTooLargeError, connection_user, declare_events_exchange, event_message
from academy_runtime.db import asyncpg_dsn
from academy_runtime.health import Heartbeat
from academy_runtime.messaging import Messaging
from academy_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

_OutboxRow = Row[Any, Any, Any, Any]  # id, event_type, payload, created_at

_MAX_BACKOFF_S = 30.0
# A confirm that does not come within this time means the connection is gone; the batch is retried.
_CONFIRM_TIMEOUT_S = 15.0


class _PublishFailedError(ConnectionError):
    def __init__(self, row_ids: list[int], cause: BaseException) -> None:
        super().__init__(f"publishing {len(row_ids)} event(s) failed: {cause!r}")
        self.row_ids = row_ids
        self.cause = cause


class OutboxRelay:
    def __init__(
        self,
        settings: ServiceSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        messaging: Messaging,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.messaging = messaging
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._connection: AbstractConnection | None = None
        self._exchange: AbstractExchange | None = None
        self._listener: asyncpg.Connection | None = None
        self._last_sweep = 0.0
        self.published_total = 0
        # Beats every time round the loop and every batch: the worker's liveness probe reads it.
        self.heartbeat = Heartbeat("outbox-relay", beats_regularly=True)

    # -- lifecycle -----------------------------------------------------------------------------
    async def run(self) -> None:
        """Publish until `stop()`; every failure is logged and retried with backoff."""
        backoff = 0.5
        while not self._stopping.is_set():
            self.heartbeat.beat()
            try:
                await self._ensure_listener()
                await self._ensure_exchange()
                # Cleared before the pass: a NOTIFY that lands while we publish wakes the next wait.
                self._wakeup.clear()
                await self.publish_pending()
                backoff = 0.5
                # A pass ends on a short batch, so everything committed before it is published; what
                # was committed since has sent a NOTIFY, which ends this sleep at once.
                await self._sleep(self.settings.outbox_poll_interval_s)
                await self._maybe_sweep()
            except Exception as exc:
                log.warning("outbox relay iteration failed; retrying", extra={"error": repr(exc)})
                await self._drop_listener()
                await self._drop_broker()
                await self._sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)

    def stop(self) -> None:
        self._stopping.set()
        self._wakeup.set()

    async def close(self) -> None:
        self.stop()
        await self._drop_listener()
        await self._drop_broker()

    # -- one pass ------------------------------------------------------------------------------
    async def publish_pending(self) -> int:
        """Publish every unpublished row, batch by batch; returns how many were published."""
        total = 0
        while not self._stopping.is_set():
            published, claimed = await self._publish_batch()
            total += published
            self.heartbeat.beat()
            # A full batch (published or parked) may have more behind it; a short one drained the outbox.
            if claimed < self.settings.outbox_batch_size:
                # Drained: whatever is left was committed after the claim and is seconds old at most.
                metrics.OUTBOX_OLDEST_AGE.labels(self.settings.service_name).set(0)
                break
        return total

    async def _publish_batch(self) -> tuple[int, int]:
        """Claim and publish one batch: (rows published, rows claimed, parked ones included)."""
        try:
            return await self._claim_and_publish()
        except _PublishFailedError as failure:
            # Recorded after the claiming transaction rolled back: its row locks are released.
            await self._record_failure(failure.row_ids, failure.cause)
            raise

    async def _claim_and_publish(self) -> tuple[int, int]:
        outbox = self.messaging.outbox
        exchange = await self._ensure_exchange()
        async with self.sessionmaker() as session, session.begin():
            rows = (
                await session.execute(
                    select(outbox.c.id, outbox.c.event_type, outbox.c.payload, outbox.c.created_at)
                    .where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self.settings.outbox_batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                await self._observe_backlog(session)
                return 0, 0
            messages, unpublishable = self._messages(rows)
            try:
                # Publishes run concurrently on one confirming channel; each await returns once the
                # broker has confirmed (or rejected) that message. Not mandatory: an event no queue is
                # bound to yet (a v1 kept for other teams during a move to v2) is published all the same,
                # and the broker need not send its whole body back in a basic.return nobody reads.
                await asyncio.wait_for(
                    asyncio.gather(
                        *(
                            exchange.publish(message, routing_key=row.event_type, mandatory=False)
                            for row, message in messages
                        )
                    ),
                    timeout=_CONFIRM_TIMEOUT_S,
                )
            except (Exception, asyncio.CancelledError) as exc:
                # aiormq cancels pending confirms when the connection drops; that CancelledError is
                # a broker failure, not a request to stop this task.
                task = asyncio.current_task()
                if isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling():
                    raise
                raise _PublishFailedError([row.id for row in rows], exc) from exc
            now = datetime.now(UTC)
            published = [row for row, _ in messages]
            await session.execute(
                update(outbox).where(outbox.c.id.in_([row.id for row in published])).values(published_at=now)
            )
            for row, _, error in unpublishable:
                await session.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id)
                    .values(parked_at=now, attempts=outbox.c.attempts + 1, last_error=str(error)[:2000])
                )
        # Counted once committed: a batch rolled back (broker failure) parks them again next time.
        for row, reason, error in unpublishable:
            # An expected refusal, not a crash: no traceback, it would say nothing more.
            log.error(
                "outbox event can never be published; parked",
                extra={"event_type": row.event_type, "outbox_id": row.id, "reason": reason, "error": str(error)[:500]},
            )
            metrics.OUTBOX_PARKED.labels(self.settings.service_name, row.event_type, reason).inc()
            if reason == "oversized":
                metrics.EVENTS_REFUSED.labels(self.settings.service_name, "outbox", "publish", "oversized").inc()
        for row in published:
            metrics.EVENTS_PUBLISHED.labels(self.settings.service_name, row.event_type).inc()
            metrics.OUTBOX_PUBLISH_LATENCY.labels(self.settings.service_name).observe(
                max(0.0, (now - row.created_at).total_seconds())
            )
        self.published_total += len(published)
        return len(published), len(rows)

    def _messages(
        self, rows: Sequence[_OutboxRow]
    ) -> tuple[list[tuple[_OutboxRow, Message]], list[tuple[_OutboxRow, str, Exception]]]:
        """Each row's message, and the rows that can never be one, with the reason (`oversized`,
        `unencodable`) and the error. Building a message depends on the row alone, so such a row would
        fail the same way on every pass."""
        user_id = connection_user(self.settings.rabbitmq_url)
        messages: list[tuple[_OutboxRow, Message]] = []
        unpublishable: list[tuple[_OutboxRow, str, Exception]] = []
        for row in rows:
            try:
                messages.append(
                    (row, event_message(row.payload, user_id=user_id, max_bytes=self.settings.max_event_bytes))
                )
            except EventTooLargeError as exc:
                unpublishable.append((row, "oversized", exc))
            except Exception as exc:  # whatever the payload breaks, it breaks on every pass
                unpublishable.append((row, "unencodable", exc))
        return messages, unpublishable

    async def _record_failure(self, row_ids: list[int], exc: BaseException) -> None:
        outbox = self.messaging.outbox
        with contextlib.suppress(Exception):
            async with self.sessionmaker() as session, session.begin():
                await session.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(row_ids))
                    .values(attempts=outbox.c.attempts + 1, last_error=repr(exc)[:2000])
                )

    async def _observe_backlog(self, session: AsyncSession) -> None:
        outbox = self.messaging.outbox
        oldest = (
            await session.execute(
                select(func.min(outbox.c.created_at)).where(
                    outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None)
                )
            )
        ).scalar()
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        metrics.OUTBOX_OLDEST_AGE.labels(self.settings.service_name).set(age)

    async def _maybe_sweep(self) -> None:
        """Delete rows published longer ago than the retention window, at most once a minute."""
        if time.monotonic() - self._last_sweep < 60:  # noqa: PLR2004
            return
        self._last_sweep = time.monotonic()
        cutoff = datetime.now(UTC) - timedelta(hours=self.settings.outbox_retention_hours)
        outbox = self.messaging.outbox
        async with self.sessionmaker() as session, session.begin():
            await session.execute(delete(outbox).where(outbox.c.published_at < cutoff))

    # -- connections -----------------------------------------------------------------------------
    async def _ensure_exchange(self) -> AbstractExchange:
        # A plain (not robust) connection: after any failure it is dropped and made anew, so no
        # publish ever waits on a confirm from a connection that is already gone.
        if self._exchange is not None and self._connection is not None and not self._connection.is_closed:
            return self._exchange
        await self._drop_broker()
        self._connection = await aio_pika.connect(
            self.settings.rabbitmq_url,
            timeout=10,
            client_properties={"connection_name": f"{self.settings.service_name}:outbox-relay"},
        )
        channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await declare_events_exchange(channel, self.settings.events_exchange)
        return self._exchange

    async def _drop_broker(self) -> None:
        connection, self._connection, self._exchange = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=2)

    async def _ensure_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        self._listener = await asyncpg.connect(asyncpg_dsn(self.settings.database_url))
        await self._listener.add_listener(self.messaging.channel, self._on_notify)
        # Anything committed while we were not listening is picked up by the pass that follows.
        self._wakeup.set()

    async def _drop_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.close(timeout=2)

    def _on_notify(self, *_: object) -> None:
        self._wakeup.set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
