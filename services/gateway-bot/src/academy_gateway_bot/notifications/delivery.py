"""Sending the queued notifications: the gateway worker's job, safe to run in several processes at once.

A notification consumer does not send: it renders the message and queues it (`notification_log`, `pending`)
in the event's transaction, and that transaction ends at once. Sending waits for the chat's next send second
(Telegram's one message a second per chat), and one fact brings several messages (a course completed: the
congratulation, its points, an achievement, its coins). When the handlers sent, each of those waits held a
consumer place and a database connection, and every other learner's events queued behind them.

Here, per worker process, up to `concurrency` chats at a time, one task per chat:

1. **Find** the chats whose first queued message is due (one query for all of them), and take each one's
   sender key in Redis (`redis_keys.notification_sender`, this process's token with a 30 s lease): a chat
   another process sent to in the last 30 s is left to it, without taking a send second of the chat for a
   message it will not send.
2. **Wait** for the chat's send second (`NotificationSender`: the bot's 30/s and each chat's 1/s, shared by
   every process), holding nothing but the task.
3. **Send and mark in one transaction**: lock the chat's first queued message (`FOR UPDATE SKIP LOCKED`: a
   chat another process is sending to is left to it, so its order holds), make the Bot API call, mark it
   `sent`, commit (the sender key is a courtesy; the row lock is what keeps a message from going twice).
   The due messages queued after it go in the same Bot API message when they fit (`combined`: one fact
   brings several, and each would take a send second of its own); a combined send that fails sends the
   chat's messages one by one until its queue is empty.
   The transaction also holds the learner's lock in shared mode, so an erasure never crosses
   a send (`LearnerRepository.hold_against_erasure`). Then the chat's next message, in the order they were
   queued — the order `consumers.wait_for_turn` put them in.
4. **Outcomes**: `blocked` (403, and the learner's `blocked_at`); `failed` (refused for good, "chat not found"
   among them, or out of `max_attempts`); a 429 or a network error defers the row (`not_before`: the
   `retry_after`, else 1, 2, 4… s, at most 60), and the chat's later messages wait behind it.

At least once, as when the handlers sent: a process that dies between Telegram's answer and the commit leaves
the row `pending`, and it is sent again.

The job looks at the queue when this process queued a message (`BotRuntime.notifications_queued`) and every
`poll_interval_s` for rows other processes queued and deferred rows that came due.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from academy_runtime.db import transaction
from academy_runtime.resources import Resources
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup, Message
from redis.commands.core import AsyncScript
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from academy_gateway_bot import metrics, redis_keys
from academy_gateway_bot.fitting import TEXT_LIMIT
from academy_gateway_bot.learners import LearnerRepository
from academy_gateway_bot.notifications.repository import NotificationRepository, Queued
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
_SENDER_LEASE_MS = 30_000  # a chat's sender key lives this long after it was last taken (a stopped process's goes)
# Takes the chat's sender key for this process (free, or already this process's) and starts its lease again;
# 0 when another process holds it. One round trip, and nothing to release: the process keeps the chats it
# sent to for the lease, which only other processes notice.
_TAKE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""


_COMBINED_MAX = 5
"""At most this many queued messages go out as one."""
_SEPARATOR = "\n\n"


def combined(due: Sequence[Queued]) -> list[Queued]:
    """The first of a chat's due messages (in the order they were queued) and those after it that go out in
    the same Bot API message: while their texts, joined by a blank line, stay within Telegram's 4096
    characters (`TEXT_LIMIT`, counted with the HTML tags) and at most one of them has buttons (the message
    takes them). At least the first.

    Why: Telegram takes one message a second per chat, and one fact brings several (a course completed: the
    congratulation, its points, an achievement, its coins), so the last of them came 3-4 s after the fact.
    Those due together now arrive together, in one message, in their order (issue 11's bot bench: the
    course's points within 2 s of its last lesson)."""
    group = [due[0]]
    length, buttons = len(due[0].text), due[0].reply_markup is not None
    for queued in due[1:]:
        length += len(_SEPARATOR) + len(queued.text)
        if length > TEXT_LIMIT or (buttons and queued.reply_markup is not None):
            break
        group.append(queued)
        buttons = buttons or queued.reply_markup is not None
    return group


@dataclass(frozen=True)
class NotificationPolicy:
    """How queued notifications are sent (GatewaySettings' `notification_*`)."""

    concurrency: int = 128
    poll_interval_s: float = 0.5
    max_attempts: int = 5

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> NotificationPolicy:
        return cls(
            concurrency=settings.notification_concurrency,
            poll_interval_s=settings.notification_poll_interval_s,
            max_attempts=settings.notification_max_attempts,
        )


class _NothingDueError(Exception):
    """The chat has no message due now (sent, deferred, erased, or another process is sending it)."""


class NotificationDelivery:
    """Sends every queued notification; one per worker process (several processes cooperate).

    `queued`: rung when there may be something new to send (`BotRuntime.notifications_queued`).
    `clock`: the current moment (aware).
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
        self.chats: dict[int, asyncio.Task[None]] = {}
        """Learners whose chat this process is sending to, by user id."""
        self.token = secrets.token_hex(8)
        """This process's value of the chats' sender keys."""
        self._take_script: AsyncScript | None = None
        self._alone: set[int] = set()
        """Learners whose chat gets one message per send until its queue is empty (a combined send failed)."""

    async def run(self) -> None:
        """Work until cancelled (a cancel stops the chats' sends: what was not committed stays queued)."""
        try:
            while True:
                self.queued.clear()
                try:
                    await self.step()
                except Exception:
                    log.exception("notification delivery failed; trying again")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.queued.wait(), timeout=self.policy.poll_interval_s)
        finally:
            await self.stop()

    async def step(self) -> int:
        """Start sending to the chats with a message due (as many as there is room for): how many."""
        room = self.policy.concurrency - len(self.chats)
        if room <= 0:
            return 0
        async with self.sessionmaker() as session:
            due = await NotificationRepository(session).due_chats(self.clock(), limit=room, excluding=self.chats)
        for user_id, chat_id in due:
            task = asyncio.create_task(self._send_chat(user_id, chat_id), name=f"notifications-{user_id}")
            self.chats[user_id] = task
            task.add_done_callback(functools.partial(self._done, user_id))
        return len(due)

    async def drain(self, *, rounds: int = 100) -> None:
        """Send what is due now, until nothing is left to start (tests and tools; deferred rows stay)."""
        for _ in range(rounds):
            if not await self.step() and not self.chats:
                return
            if self.chats:
                await asyncio.wait(list(self.chats.values()))

    async def stop(self) -> None:
        """Cancel the chats' sends and wait for them."""
        tasks = list(self.chats.values())
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
        self.chats.clear()

    def _done(self, user_id: int, task: asyncio.Task[None]) -> None:
        if self.chats.get(user_id) is task:
            del self.chats[user_id]
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("notification send failed", exc_info=exc)

    async def _send_chat(self, user_id: int, chat_id: int) -> None:
        """Send the chat's due messages one after another, in the order they were queued, unless another
        process is sending to the chat (its sender key)."""
        key = redis_keys.notification_sender(self.sender.prefix, chat_id)
        if not await self._take(key):
            return
        try:
            await self._send_queue(user_id, chat_id, key)
        finally:
            self._alone.discard(user_id)

    async def _send_queue(self, user_id: int, chat_id: int, key: str) -> None:
        """`_send_chat`'s sends, with the chat's sender key `key` taken."""
        loop = asyncio.get_running_loop()
        taken_at = loop.time()
        # The first message is due (`due_chats`); each send says whether another one is. Asking before the
        # next send second is taken keeps a chat's last message from taking one more for nothing.
        while await self._send_next(user_id, chat_id):
            if loop.time() - taken_at > _SENDER_LEASE_MS / 1000 / 3:  # a long queue: keep the key
                if not await self._take(key):
                    return
                taken_at = loop.time()

    async def _take(self, key: str) -> bool:
        if self._take_script is None:
            self._take_script = self.sender.redis.register_script(_TAKE)
        return bool(await self._take_script(keys=[key], args=[self.token, _SENDER_LEASE_MS]))

    async def _send_next(self, user_id: int, chat_id: int) -> bool:
        """Send the chat's first queued message when it is due, with the due ones queued after it that fit
        in the same message (`combined`): whether the chat has another one due."""
        attempted: list[Queued] = []
        more = False

        async def send_and_mark() -> Message:
            nonlocal attempted, more
            async with transaction(self.sessionmaker) as session:
                await LearnerRepository(session).hold_against_erasure(user_id)
                repository = NotificationRepository(session)
                attempted = await self._lock_due(repository, user_id)
                text = _SEPARATOR.join(queued.text for queued in attempted)
                buttons = next((queued.reply_markup for queued in attempted if queued.reply_markup), None)
                markup = InlineKeyboardMarkup.model_validate(buttons) if buttons else None
                message = await self.sender.bot.send_message(chat_id, text, reply_markup=markup)
                now = self.clock()
                await repository.mark_sent([queued.id for queued in attempted], message.message_id, sent_at=now)
                more = await repository.has_due(user_id, now)
            for queued in attempted:
                metrics.NOTIFICATION_QUEUED_SECONDS.observe(max(0.0, (now - queued.created_at).total_seconds()))
            return message

        try:
            # A 429 comes back here at once (attempts=1): the row waits with `not_before`, and the chat's
            # next messages behind it; other chats' do not.
            await self.sender.deliver(chat_id, send_and_mark, attempts=1)
        except _NothingDueError:
            return False
        except Exception as exc:  # every failure has an outcome (`_failed`)
            if not attempted:
                raise
            return await self._send_failed(user_id, attempted, exc)
        metrics.NOTIFICATION_DELIVERIES.labels(outcome="sent").inc(len(attempted))
        if len(attempted) > 1:
            metrics.NOTIFICATIONS_COMBINED.inc(len(attempted) - 1)
        return more

    async def _lock_due(self, repository: NotificationRepository, user_id: int) -> list[Queued]:
        """The chat's first queued message and those to send with it (`combined`), locked; _NothingDueError
        when the first is not due (or another process holds it). One by one for a chat in `_alone`."""
        now = self.clock()
        first = await repository.lock_next(user_id, now)
        if first is None:
            raise _NothingDueError
        if user_id in self._alone:
            return [first]
        return combined([first, *await repository.lock_following(user_id, first, now, limit=_COMBINED_MAX - 1)])

    async def _send_failed(self, user_id: int, attempted: list[Queued], exc: Exception) -> bool:
        """The outcome of a send of `attempted` that raised `exc`: whether the chat has a message due."""
        if len(attempted) > 1 and not isinstance(exc, LearnerUnreachableError | TelegramRetryAfter):
            # Which of the combined messages Telegram refused is not known: the chat's messages go one by one
            # from now on, each to its own outcome, and nothing is counted against these.
            self._alone.add(user_id)
            log.warning(
                "combined notifications not sent; sending them one by one",
                extra={"user_id": user_id, "messages": len(attempted), "error": str(exc)},
            )
            return True
        await self._failed(user_id, attempted[0], exc)
        async with self.sessionmaker() as session:
            return await NotificationRepository(session).has_due(user_id, self.clock())

    async def _failed(self, user_id: int, row: Queued, exc: Exception) -> None:
        """The outcome of a send that raised `exc`: blocked, refused for good, or deferred for another try."""
        attempts = row.attempts + 1
        if isinstance(exc, LearnerUnreachableError):
            async with transaction(self.sessionmaker) as session:
                await NotificationRepository(session).mark(row.id, status="blocked", attempts=attempts, error=str(exc))
                await LearnerRepository(session).mark_blocked(user_id)
            metrics.NOTIFICATION_DELIVERIES.labels(outcome="blocked").inc()
            return
        if isinstance(exc, REFUSED_FOR_GOOD):
            # "chat not found": the learner registered elsewhere and never opened the bot. Sending again
            # cannot help; the log keeps what they would have been told.
            await self._give_up(user_id, row, attempts, exc.message)
            return
        if isinstance(exc, BOT_UNUSABLE):
            log.error("the Bot API refuses the bot; notifications wait", extra={"error": str(exc)})
            await self._defer(row, attempts=row.attempts, wait_s=_BOT_UNUSABLE_WAIT_S)
            return
        if not isinstance(exc, TelegramRetryAfter | TelegramAPIError | TimeoutError | OSError):
            await self._give_up(user_id, row, attempts, f"{type(exc).__name__}: {exc}")
            raise exc
        # Telegram asked to slow down, or the call did not get through (a 5xx, a timeout, a reset).
        if attempts >= self.policy.max_attempts:
            await self._give_up(user_id, row, attempts, f"{type(exc).__name__} after {attempts} attempts: {exc}")
            return
        if isinstance(exc, TelegramRetryAfter):
            wait = float(exc.retry_after)
        else:
            first, longest = _RETRY_BACKOFF_S
            wait = min(longest, first * 2 ** (attempts - 1))
        log.warning(
            "notification not sent; trying again",
            extra={"notification_id": row.id, "attempt": attempts, "wait_s": wait, "error": str(exc)},
        )
        metrics.NOTIFICATION_DELIVERIES.labels(outcome="retried").inc()
        await self._defer(row, attempts=attempts, wait_s=wait)

    async def _give_up(self, user_id: int, row: Queued, attempts: int, error: str) -> None:
        log.warning("notification not sent", extra={"notification_id": row.id, "user_id": user_id, "error": error})
        async with transaction(self.sessionmaker) as session:
            await NotificationRepository(session).mark(row.id, status="failed", attempts=attempts, error=error)
        metrics.NOTIFICATION_DELIVERIES.labels(outcome="failed").inc()

    async def _defer(self, row: Queued, *, attempts: int, wait_s: float) -> None:
        not_before = self.clock() + timedelta(seconds=wait_s)
        async with transaction(self.sessionmaker) as session:
            await NotificationRepository(session).defer(row.id, attempts=attempts, not_before=not_before)


async def send_notifications(resources: Resources) -> None:
    """The worker job: send the queued notifications until the worker stops."""
    settings = resources.settings_as(GatewaySettings)
    runtime = bot_runtime(resources)
    policy = NotificationPolicy.from_settings(settings)
    await NotificationDelivery(resources.sessionmaker, runtime.sender, policy, runtime.notifications_queued).run()
