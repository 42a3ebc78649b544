"""Sending the queued notifications: the gateway worker's job, safe to run in several processes at once.

A notification consumer does not send: it renders the message and queues it (`notification_log`, `pending`)
in the event's transaction, and that transaction ends at once. Sending a message waits for its chat's next
send second (Telegram's one message a second per chat), and one fact brings several messages (a course
completed: the congratulation, its points, an achievement, its coins). When the handlers sent, each of those
waits held a consumer place and a database connection, and every other learner's events queued behind them
(issue 11's bot bench: 20 of 32 places busy waiting, the congratulation 4–6 s late at p50).

Here, per worker process:

1. **Claim** up to `concurrency` messages, each the first of its chat still on its way (`FOR UPDATE SKIP
   LOCKED`, status → `sending`, committed before the Bot API call): one message per chat at a time, in the
   order they were queued — the order `consumers.wait_for_turn` put them in.
2. **Send** through `NotificationSender` (the bot's 30/s and each chat's 1/s, shared by every process). A claimed
   message waits for its chat's second holding nothing but a task; only the Bot API call and its mark run in
   a transaction, which holds the learner's lock in shared mode so that an erasure never crosses a send
   (`LearnerRepository.hold_for_delivery`).
3. **Mark**: `sent`; `blocked` (403, and the learner's `blocked_at`); `failed` (refused for good, "chat not
   found" among them, or out of attempts); a 429 or a network error puts the row back (`not_before`) up to
   `max_attempts`. A row still `sending` after the lease belongs to a worker that stopped mid-call: `unknown`,
   not sent again (sendMessage is not idempotent: a learner is never told twice). A stop while waiting for a
   send second puts the row back.

The job looks at the queue when this process queued a message or finished sending one (`BotRuntime.
notifications_queued`) and every `poll_interval_s` for rows other processes queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from academy_runtime.db import transaction
from academy_runtime.resources import Resources
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from academy_gateway_bot import metrics
from academy_gateway_bot.learners import LearnerRepository
from academy_gateway_bot.notifications.repository import Claimed, NotificationRepository
from academy_gateway_bot.notifications.sender import (
    BOT_UNUSABLE,
    REFUSED_FOR_GOOD,
    LearnerUnreachableError,
    NotificationSender,
)
from academy_gateway_bot.runtime import bot_runtime
from academy_gateway_bot.settings import GatewaySettings

log = logging.getLogger(__name__)

_RETRY_BACKOFF_S = (1.0, 60.0)  # a network error's first and longest wait before the next attempt
_BOT_UNUSABLE_WAIT_S = 30.0  # a refused bot's messages are tried again this much later, attempts untouched
_STALE_CHECK_EVERY_S = 30.0


@dataclass(frozen=True)
class NotificationPolicy:
    """How queued notifications are sent (GatewaySettings' `notification_*`)."""

    concurrency: int = 128
    poll_interval_s: float = 0.5
    claim_lease_s: float = 300.0
    max_attempts: int = 5

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> NotificationPolicy:
        return cls(
            concurrency=settings.notification_concurrency,
            poll_interval_s=settings.notification_poll_interval_s,
            claim_lease_s=settings.notification_claim_lease_s,
            max_attempts=settings.notification_max_attempts,
        )


class _WithdrawnError(Exception):
    """The claimed row is gone (the learner was erased) or no longer ours (given up as stale)."""


class NotificationDelivery:
    """Sends every queued notification; one per worker process (several processes cooperate).

    `queued`: rung when there may be something to claim (`BotRuntime.notifications_queued`).
    `clock`: the current moment (aware); tests move it to age claims.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sender: NotificationSender,
        policy: NotificationPolicy,
        queued: asyncio.Event,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessionmaker = sessionmaker
        self.sender = sender
        self.policy = policy
        self.queued = queued
        self.clock = clock
        self.inflight: set[asyncio.Task[None]] = set()
        self._stale_checked = float("-inf")

    async def run(self) -> None:
        """Work until cancelled; a cancel stops the sends in flight (those still waiting for a send second
        go back to `pending`)."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                self.queued.clear()
                try:
                    if loop.time() - self._stale_checked >= _STALE_CHECK_EVERY_S:
                        await self.give_up_stale_claims()
                        self._stale_checked = loop.time()
                    claimed = await self.step()
                except Exception:
                    log.exception("notification delivery failed; trying again")
                    claimed = 0
                if claimed:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.queued.wait(), timeout=self.policy.poll_interval_s)
        finally:
            await self.stop()

    async def step(self) -> int:
        """Claim what is due (as many as there is room for in flight) and start sending it: how many."""
        room = self.policy.concurrency - len(self.inflight)
        if room <= 0:
            return 0
        async with transaction(self.sessionmaker) as session:
            claimed = await NotificationRepository(session).claim(room, self.clock())
        for row in claimed:
            task = asyncio.create_task(self._deliver(row), name=f"notification-{row.id}")
            self.inflight.add(task)
            task.add_done_callback(self._done)
        return len(claimed)

    async def drain(self, *, rounds: int = 100) -> None:
        """Send what is queued now and what that frees, until nothing is left to claim (tests and tools;
        messages deferred by `not_before` stay)."""
        for _ in range(rounds):
            if not await self.step() and not self.inflight:
                return
            if self.inflight:
                await asyncio.wait(self.inflight, return_when=asyncio.FIRST_COMPLETED)

    async def give_up_stale_claims(self) -> int:
        """Rows left `sending` past the lease: `unknown` (see the module's docstring); how many."""
        async with transaction(self.sessionmaker) as session:
            stale_before = self.clock() - timedelta(seconds=self.policy.claim_lease_s)
            given_up = await NotificationRepository(session).give_up_stale_claims(stale_before)
        if given_up:
            log.warning("notifications of unknown outcome, not sent again", extra={"rows": given_up})
            metrics.NOTIFICATION_DELIVERIES.labels(outcome="unknown").inc(given_up)
        return given_up

    async def stop(self) -> None:
        """Cancel the sends in flight and wait for them (each puts back or keeps its row as it should)."""
        for task in self.inflight:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self.inflight, return_exceptions=True)
        self.inflight.clear()

    def _done(self, task: asyncio.Task[None]) -> None:
        self.inflight.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("notification send failed", exc_info=exc)
        self.queued.set()  # the chat's next message may be claimed now

    async def _deliver(self, row: Claimed) -> None:
        started = False

        async def send_and_mark() -> Message:
            nonlocal started
            async with transaction(self.sessionmaker) as session:
                if not await LearnerRepository(session).hold_for_delivery(row.user_id):
                    raise _WithdrawnError
                repository = NotificationRepository(session)
                if not await repository.still_claimed(row.id):
                    raise _WithdrawnError
                markup = InlineKeyboardMarkup.model_validate(row.reply_markup) if row.reply_markup else None
                started = True
                message = await self.sender.bot.send_message(row.chat_id, row.text, reply_markup=markup)
                now = self.clock()
                await repository.mark(row.id, status="sent", message_id=message.message_id, sent_at=now)
            metrics.NOTIFICATION_QUEUED_SECONDS.observe(max(0.0, (now - row.created_at).total_seconds()))
            return message

        try:
            # A 429 comes back here at once (attempts=1) and the row waits with `not_before`: its chat's
            # next messages wait behind it, other chats' do not.
            await self.sender.deliver(row.chat_id, send_and_mark, attempts=1)
        except asyncio.CancelledError:
            # Stopped while waiting for a send second: nothing went to Telegram, so the row goes back to
            # `pending` instead of turning `unknown` after the lease.
            if not started:
                await asyncio.shield(self._release(row, not_before=None, undo_attempt=True))
            raise
        except _WithdrawnError:
            return
        except Exception as exc:  # every failure has an outcome (`_failed`)
            await self._failed(row, exc)
        else:
            metrics.NOTIFICATION_DELIVERIES.labels(outcome="sent").inc()

    async def _failed(self, row: Claimed, exc: Exception) -> None:
        """The outcome of a send that raised `exc`: blocked, refused for good, or put back for another try."""
        if isinstance(exc, LearnerUnreachableError):
            async with transaction(self.sessionmaker) as session:
                await NotificationRepository(session).mark(row.id, status="blocked", error=str(exc))
                await LearnerRepository(session).mark_blocked(row.user_id)
            metrics.NOTIFICATION_DELIVERIES.labels(outcome="blocked").inc()
            return
        if isinstance(exc, REFUSED_FOR_GOOD):
            # "chat not found": the learner registered elsewhere and never opened the bot. Sending again
            # cannot help; the log keeps what they would have been told.
            await self._give_up(row, exc.message)
            return
        if isinstance(exc, BOT_UNUSABLE):
            log.error("the Bot API refuses the bot; notifications wait", extra={"error": str(exc)})
            later = self.clock() + timedelta(seconds=_BOT_UNUSABLE_WAIT_S)
            await self._release(row, not_before=later, undo_attempt=True)
            return
        if not isinstance(exc, TelegramRetryAfter | TelegramAPIError | TimeoutError | OSError):
            await self._give_up(row, f"{type(exc).__name__}: {exc}")
            raise exc
        # Telegram asked to slow down, or the call did not get through (a 5xx, a timeout, a reset): the
        # message may be sent again — a send that reached Telegram raises nothing of these but a timeout.
        if row.attempts >= self.policy.max_attempts:
            await self._give_up(row, f"{type(exc).__name__} after {row.attempts} attempts: {exc}")
            return
        if isinstance(exc, TelegramRetryAfter):
            wait = float(exc.retry_after)
        else:
            first, longest = _RETRY_BACKOFF_S
            wait = min(longest, first * 2 ** (row.attempts - 1))
        log.warning(
            "notification not sent; trying again",
            extra={"notification_id": row.id, "attempt": row.attempts, "wait_s": wait, "error": str(exc)},
        )
        metrics.NOTIFICATION_DELIVERIES.labels(outcome="retried").inc()
        await self._release(row, not_before=self.clock() + timedelta(seconds=wait), undo_attempt=False)

    async def _give_up(self, row: Claimed, error: str) -> None:
        log.warning("notification not sent", extra={"notification_id": row.id, "user_id": row.user_id, "error": error})
        async with transaction(self.sessionmaker) as session:
            await NotificationRepository(session).mark(row.id, status="failed", error=error)
        metrics.NOTIFICATION_DELIVERIES.labels(outcome="failed").inc()

    async def _release(self, row: Claimed, *, not_before: datetime | None, undo_attempt: bool) -> None:
        async with transaction(self.sessionmaker) as session:
            await NotificationRepository(session).release(row.id, not_before=not_before, undo_attempt=undo_attempt)


async def send_notifications(resources: Resources) -> None:
    """The worker job: send the queued notifications until the worker stops."""
    settings = resources.settings_as(GatewaySettings)
    runtime = bot_runtime(resources)
    policy = NotificationPolicy.from_settings(settings)
    await NotificationDelivery(resources.sessionmaker, runtime.sender, policy, runtime.notifications_queued).run()
