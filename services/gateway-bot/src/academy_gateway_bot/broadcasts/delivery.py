"""Sending broadcasts (issue 12): the gateway worker's job, safe to run in several processes at once.

For each broadcast that is `sending` (a scheduled one becomes so at its moment):

1. **Resolve** the segment once: the worker that locks the broadcast's row (`FOR UPDATE SKIP LOCKED`) asks
   the services for the segment's user ids page by page and lists those the gateway has a chat for in
   `broadcast_recipients` (primary key (broadcast, user): a second resolution lists nobody twice). A
   learner who blocked the bot is listed `blocked`, one who turned announcements off `skipped`.
2. **Claim, send, mark**: up to `concurrency` recipients are in flight per worker. A claim (`FOR UPDATE SKIP
   LOCKED`, status → `sending`, `claimed_at`) is committed *before* the Bot API call and the outcome is
   committed right after it, each in its own transaction; other workers skip the claimed rows.
3. **At most once.** A row still `sending` after the claim lease (`BROADCAST_CLAIM_LEASE_S`) belongs to a
   worker that stopped between the call and the mark: the message may have gone or not, and sendMessage
   is not idempotent (Telegram has no request key), so the row becomes `unknown` and is not sent again —
   a learner never gets an announcement twice; the `unknown` figure says how many may have missed it
   (at most `concurrency` per worker that died).
4. **Limits**: every send goes through `NotificationSender`, the same Redis windows as the notifications
   (the bot's 30/s and each chat's 1/s, shared by every process), and honours a 429's `retry_after`; a 429
   the sender gave up on puts the row back (`not_before`), up to `BROADCAST_MAX_ATTEMPTS` attempts.
5. **Quiet hours**: nothing is sent between `BROADCAST_QUIET_START_HOUR` and `BROADCAST_QUIET_END_HOUR` of
   the learner's local time (`time_zone`, else `BROADCAST_DEFAULT_TIME_ZONE`): the row waits with
   `not_before` = the end of the learner's night.
6. **Pause / cancel** are read between sends (at most every half second): a claimed row not sent yet goes
   back to `pending`; a cancel turns the pending rows `skipped`.
7. A 403 (the learner blocked the bot) marks the recipient `blocked` and the learner's `blocked_at`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from academy_runtime.db import transaction
from academy_runtime.time_zones import time_zone_or
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from academy_gateway_bot import metrics
from academy_gateway_bot.broadcasts import message
from academy_gateway_bot.broadcasts.message import Content
from academy_gateway_bot.broadcasts.repository import BroadcastRepository, Claimed
from academy_gateway_bot.broadcasts.segments import segment_user_ids
from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.notifications.sender import (
    BOT_UNUSABLE,
    REFUSED_FOR_GOOD,
    LearnerUnreachableError,
    NotificationSender,
)
from academy_gateway_bot.settings import GatewaySettings

log = logging.getLogger(__name__)

_STATUS_TTL_S = 0.5
_WAIT_S = 0.05


@dataclass(frozen=True)
class DeliveryPolicy:
    """How broadcasts are paced (GatewaySettings' `broadcast_*`)."""

    concurrency: int = 32
    claim_lease_s: float = 300.0
    quiet_start_hour: int = 21
    quiet_end_hour: int = 9
    default_time_zone: str = "Europe/Moscow"
    max_attempts: int = 5

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> DeliveryPolicy:
        return cls(
            concurrency=settings.broadcast_concurrency,
            claim_lease_s=settings.broadcast_claim_lease_s,
            quiet_start_hour=settings.broadcast_quiet_start_hour,
            quiet_end_hour=settings.broadcast_quiet_end_hour,
            default_time_zone=settings.broadcast_default_time_zone,
            max_attempts=settings.broadcast_max_attempts,
        )

    def quiet_until(self, now: datetime, time_zone: str | None) -> datetime | None:
        """The end of the learner's quiet hours when `now` (aware) falls in them, else None. Start == end:
        no quiet hours. A zone the tz database does not know counts as the default one."""
        start, end = self.quiet_start_hour, self.quiet_end_hour
        if start == end:
            return None
        local = now.astimezone(time_zone_or(time_zone, self.default_time_zone))
        quiet = (local.hour >= start or local.hour < end) if start > end else start <= local.hour < end
        if not quiet:
            return None
        wake = local.replace(hour=end, minute=0, second=0, microsecond=0)
        if wake <= local:
            wake += timedelta(days=1)
        return wake.astimezone(UTC)


class _BotUnusableError(Exception):
    """The Bot API refuses the bot itself (401/409): stop sending until it is fixed."""


class BroadcastDelivery:
    """Resolves and sends every `sending` broadcast; one per worker process (several processes cooperate).

    `clients`: the services that know the segments (None: only `everyone` can be resolved, the bench's case).
    `clock`: the current moment (aware); tests move it to check quiet hours.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sender: NotificationSender,
        clients: ServiceClients | None,
        policy: DeliveryPolicy,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessionmaker = sessionmaker
        self.sender = sender
        self.clients = clients
        self.policy = policy
        self.clock = clock
        self._statuses: dict[int, tuple[str | None, float]] = {}

    async def run(self, poll_interval_s: float) -> None:
        """Work until cancelled: a step, and a pause of `poll_interval_s` whenever there was nothing to do."""
        while True:
            try:
                worked = await self.step()
            except Exception:
                log.exception("broadcast delivery failed; trying again")
                worked = False
            if not worked:
                await asyncio.sleep(poll_interval_s)

    async def step(self) -> bool:
        """One round over the broadcasts due: whether anything was resolved, sent or finished."""
        async with transaction(self.sessionmaker) as session:
            due = await BroadcastRepository(session).due_broadcasts(self.clock())
        worked = False
        for broadcast_id in due:
            worked = await self.work_on(broadcast_id) or worked
        async with self.sessionmaker() as session:
            metrics.BROADCAST_RECIPIENTS_PENDING.set(await BroadcastRepository(session).pending_total())
        return worked

    async def work_on(self, broadcast_id: int) -> bool:
        """Resolve (once), give up stale claims, send what is due, finish when nothing is left."""
        async with self.sessionmaker() as session:
            broadcast = await BroadcastRepository(session).get(broadcast_id)
            if broadcast is None or broadcast.status != "sending":
                return False
            content, resolved = Content.of(broadcast), broadcast.resolved_at is not None
        if not resolved and not await self.resolve(broadcast_id):
            return False
        async with transaction(self.sessionmaker) as session:
            stale_before = self.clock() - timedelta(seconds=self.policy.claim_lease_s)
            given_up = await BroadcastRepository(session).give_up_stale_claims(broadcast_id, stale_before)
        if given_up:
            log.warning("broadcast sends of unknown outcome", extra={"broadcast_id": broadcast_id, "rows": given_up})
            metrics.BROADCAST_DELIVERIES.labels(outcome="failed").inc(given_up)
        sent_any = await self.pump(broadcast_id, content)
        async with transaction(self.sessionmaker) as session:
            finished = await BroadcastRepository(session).finish_if_done(broadcast_id, self.clock())
        if finished:
            log.info("broadcast finished", extra={"broadcast_id": broadcast_id})
        return sent_any or finished

    async def resolve(self, broadcast_id: int) -> bool:
        """List the segment's recipients (by one worker: the broadcast's row is locked meanwhile). False when
        another worker holds it or a service did not answer (tried again at the next step)."""
        try:
            async with transaction(self.sessionmaker) as session:
                repository = BroadcastRepository(session)
                broadcast = await repository.lock_for_resolution(broadcast_id)
                if broadcast is None or broadcast.resolved_at is not None:
                    return broadcast is not None
                pages = segment_user_ids(self.clients, broadcast.segment)
                if pages is None:
                    await repository.add_recipients(broadcast_id, None)
                else:
                    async for user_ids in pages:
                        await repository.add_recipients(broadcast_id, user_ids)
                figures = (await repository.figures([broadcast_id]))[broadcast_id]
                broadcast.resolved_at = self.clock()
                broadcast.recipients_total = figures.recipients
        except Exception:
            log.exception("broadcast segment not resolved; trying again", extra={"broadcast_id": broadcast_id})
            return False
        metrics.BROADCAST_DELIVERIES.labels(outcome="blocked").inc(figures.blocked)
        metrics.BROADCAST_DELIVERIES.labels(outcome="skipped").inc(figures.skipped)
        log.info("broadcast resolved", extra={"broadcast_id": broadcast_id, "recipients": figures.recipients})
        return True

    async def pump(self, broadcast_id: int, content: Content) -> bool:
        """Keep up to `concurrency` sends in flight until nothing is due (or the broadcast stops sending);
        whether anything was claimed. Cancelling it cancels the sends in flight (their rows stay `sending`,
        and become `unknown` after the lease)."""
        inflight: set[asyncio.Task[None]] = set()
        claimed_any = False
        concurrency = self.policy.concurrency
        try:
            while True:
                sending = await self._status(broadcast_id) == "sending"
                room = concurrency - len(inflight)
                if sending and (room >= max(1, concurrency // 4) or not inflight):
                    async with transaction(self.sessionmaker) as session:
                        claimed = await BroadcastRepository(session).claim(broadcast_id, room, self.clock())
                    claimed_any = claimed_any or bool(claimed)
                    for recipient in claimed:
                        inflight.add(asyncio.create_task(self._deliver(broadcast_id, content, recipient)))
                    if not claimed and not inflight:
                        return claimed_any
                elif not inflight:
                    return claimed_any
                done, inflight = await asyncio.wait(inflight, timeout=_WAIT_S, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
        except _BotUnusableError:
            log.error("the Bot API refuses the bot; broadcasts wait", extra={"broadcast_id": broadcast_id})  # noqa: TRY400
            await asyncio.gather(*inflight, return_exceptions=True)
            return False
        finally:
            for task in inflight:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*inflight, return_exceptions=True)

    async def _status(self, broadcast_id: int) -> str | None:
        """The broadcast's status, read again at most every half second (pause and cancel between sends)."""
        cached = self._statuses.get(broadcast_id)
        now = time.monotonic()
        if cached is not None and now - cached[1] < _STATUS_TTL_S:
            return cached[0]
        async with self.sessionmaker() as session:
            status = await BroadcastRepository(session).status(broadcast_id)
        self._statuses[broadcast_id] = (status, now)
        return status

    async def _deliver(self, broadcast_id: int, content: Content, recipient: Claimed) -> None:
        now = self.clock()
        status = await self._status(broadcast_id)
        if status == "cancelled":
            await self._mark(broadcast_id, recipient, "skipped", error="cancelled")
            return
        if status != "sending":
            await self._release(broadcast_id, recipient, not_before=None, undo_attempt=True)
            return
        wake = self.policy.quiet_until(now, recipient.time_zone)
        if wake is not None:
            await self._release(broadcast_id, recipient, not_before=wake, undo_attempt=True)
            return
        attempt = message.Attempt()
        try:
            # A 429 comes back here at once (attempts=1) and the row waits with `not_before`: waiting it out
            # inside the sender would ignore a pause or a cancel meanwhile, and a stop would leave it `sending`.
            sent = await message.send(
                self.sender, recipient.chat_id, content, recipient.locale, attempts=1, attempt=attempt
            )
        except asyncio.CancelledError:
            # Stopped (a pause of the worker, a shutdown) while waiting for a send window: nothing went to
            # Telegram, so the recipient goes back to `pending` instead of turning `unknown` after the lease.
            if not attempt.started:
                await asyncio.shield(self._release(broadcast_id, recipient, not_before=None, undo_attempt=True))
            raise
        except Exception as exc:  # every failure has an outcome (`_failed`)
            await self._failed(broadcast_id, recipient, exc)
        else:
            await self._mark(broadcast_id, recipient, "sent", message_id=sent.message_id)

    async def _failed(self, broadcast_id: int, recipient: Claimed, exc: Exception) -> None:
        """The outcome of a send that raised `exc`: blocked, put back (429), refused for good, or unknown."""
        if isinstance(exc, LearnerUnreachableError):
            await self._mark(broadcast_id, recipient, "blocked", error=str(exc), learner_blocked=True)
        elif isinstance(exc, TelegramRetryAfter):
            if recipient.attempts >= self.policy.max_attempts:
                await self._mark(broadcast_id, recipient, "failed", error=f"429 after {recipient.attempts} attempts")
            else:
                wake = self.clock() + timedelta(seconds=exc.retry_after)
                await self._release(broadcast_id, recipient, not_before=wake, undo_attempt=False)
        elif isinstance(exc, REFUSED_FOR_GOOD):
            await self._mark(broadcast_id, recipient, "failed", error=exc.message)
        elif isinstance(exc, BOT_UNUSABLE):
            await self._release(broadcast_id, recipient, not_before=None, undo_attempt=True)
            raise _BotUnusableError from exc
        elif isinstance(exc, (TelegramAPIError, TimeoutError, OSError)):
            # The request may have reached Telegram: the outcome is unknown, and it is not sent again.
            await self._mark(broadcast_id, recipient, "unknown", error=f"{type(exc).__name__}: {exc}")
        else:
            await self._mark(broadcast_id, recipient, "unknown", error=f"{type(exc).__name__}")
            raise exc

    async def _mark(
        self,
        broadcast_id: int,
        recipient: Claimed,
        status: str,
        *,
        message_id: int | None = None,
        error: str | None = None,
        learner_blocked: bool = False,
    ) -> None:
        now = self.clock()
        async with transaction(self.sessionmaker) as session:
            repository = BroadcastRepository(session)
            await repository.mark(
                broadcast_id,
                recipient.user_id,
                status=status,
                message_id=message_id,
                error=error,
                sent_at=now if status == "sent" else None,
            )
            if learner_blocked:
                await repository.mark_learner_blocked(recipient.user_id, now)
        metrics.BROADCAST_DELIVERIES.labels(outcome="failed" if status == "unknown" else status).inc()

    async def _release(
        self, broadcast_id: int, recipient: Claimed, *, not_before: datetime | None, undo_attempt: bool
    ) -> None:
        async with transaction(self.sessionmaker) as session:
            await BroadcastRepository(session).release(
                broadcast_id, recipient.user_id, not_before=not_before, undo_attempt=undo_attempt
            )
