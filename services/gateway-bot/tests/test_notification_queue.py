"""The notifications' send queue (`notifications.delivery`): a handler queues its message and its event is done;
each chat's messages are sent in the order they were queued, within Telegram's limits, once each even with two
senders; a send Telegram did not take is tried again, one it refused is not."""

import asyncio
import itertools
import re
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from academy_contracts.billing import BalanceLowV1
from academy_gateway_bot import redis_keys
from academy_gateway_bot.models import NotificationLog, messaging
from academy_gateway_bot.notifications.delivery import NotificationDelivery, NotificationPolicy
from prometheus_client import REGISTRY
from sqlalchemy import select

from .learning_support import has_text, register
from .test_notifications import completed, course_points, deliver_to_gateway, publish_as

pytestmark = pytest.mark.integration

LOW = "На балансе осталось"


def balance_low(user_id: int, balance: int) -> BalanceLowV1:
    return BalanceLowV1(user_id=user_id, balance=balance, threshold=1000, detected_at=datetime.now(UTC))


def balance_of(text: str) -> int:
    """The balance a low-balance message names («На балансе осталось 11 монет. …»)."""
    return int(re.sub(r"\D", "", text.split(LOW, 1)[1].split(".", maxsplit=1)[0]))


async def told_balances(tg, telegram_id: int) -> list[int]:
    """The balances of the low-balance messages the chat got, in the order they arrived."""
    return [balance_of(m.text) for m in await tg.messages(telegram_id) if LOW in (m.text or "")]


async def rows_of(resources, user_id: int, *, kind: str | None = "balance_low") -> list[NotificationLog]:
    """The learner's notifications of `kind` (None: all) in the order they were queued."""
    async with resources.sessionmaker() as session:
        query = select(NotificationLog).where(NotificationLog.user_id == user_id).order_by(NotificationLog.id)
        if kind is not None:
            query = query.where(NotificationLog.kind == kind)
        return list((await session.execute(query)).scalars())


async def until(condition, *, timeout: float = 20.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.1)


async def handled(resources, event_ids: list[uuid.UUID]) -> bool:
    async with resources.sessionmaker() as session:
        inbox = messaging.inbox
        found = await session.execute(
            select(inbox.c.event_id).where(
                inbox.c.event_id.in_([str(e) for e in event_ids]), inbox.c.consumer == "notifications"
            )
        )
        return len(found.all()) == len(event_ids)


async def hold_chat_window(resources, chat_id: int, seconds: float) -> str:
    """Make the chat's send window look full for `seconds` (a send stamped in the future), as a chat that
    has just been sent several messages looks; the key (deleting it frees sends not waiting yet)."""
    redis = resources.redis
    key = redis_keys.chat_send_window(resources.settings.redis_prefix, chat_id)
    now_s, now_us = await redis.time()
    stamp = now_s * 1000 + now_us // 1000 + int(seconds * 1000)
    await redis.zadd(key, {f"held-{uuid.uuid4().hex}": stamp})
    await redis.pexpire(key, int(seconds * 1000) + 5000)
    return key


async def test_a_chat_waiting_for_its_send_second_holds_up_neither_its_events_nor_other_learners(
    gateway, tg, services, resources
):
    """Before the queue, each handler sent inside its event's transaction: a chat whose second had not come
    kept its events unfinished, each holding a consumer place and a database connection, and every other
    learner's events queued behind them (issue 11's bench: the congratulation 4-6 s late at p50)."""
    busy_user, busy = await registered(gateway, tg, resources)
    other_user, other = await registered(gateway, tg, resources)
    await hold_chat_window(resources, busy_user.id, 8)

    busy_events = [await publish(services, balance_low(busy["id"], balance)) for balance in (11, 22, 33)]
    other_events = [await publish(services, balance_low(other["id"], 44))]

    # The busy chat's events are done (inbox committed) while its messages wait for the chat's second...
    await until(lambda: handled(resources, busy_events + other_events), what="every event handled")
    assert await told_balances(tg, busy_user.id) == []
    assert [row.status for row in await rows_of(resources, busy["id"])] == ["pending"] * 3
    # ...and the other learner is told meanwhile.
    await until(lambda: _told(tg, other_user.id, [44]), what="the other learner told")
    assert await told_balances(tg, busy_user.id) == []

    # Once the chat's second comes, its messages go in the order they were queued (three independent facts,
    # queued in the order their handlers got there), one a second.
    queued = [balance_of(row.text) for row in await rows_of(resources, busy["id"])]
    assert sorted(queued) == [11, 22, 33]
    await until(lambda: _told(tg, busy_user.id, queued), timeout=30, what="the busy chat told")
    await until(lambda: _settled(resources, busy["id"]), what="the last one marked")  # after Telegram's answer
    rows = await rows_of(resources, busy["id"])
    assert [row.status for row in rows] == ["sent"] * 3
    sent_at = [row.sent_at for row in rows]
    assert all(b - a >= timedelta(seconds=1) for a, b in itertools.pairwise(sent_at)), sent_at


async def _told(tg, telegram_id: int, balances: list[int]) -> bool:
    return await told_balances(tg, telegram_id) == balances


async def publish(services, data) -> uuid.UUID:
    event_id = uuid.uuid4()
    await publish_as(services, "billing", data, event_id=event_id)
    return event_id


async def test_two_senders_on_one_queue_send_each_message_once_and_in_order(gateway, tg, services, resources):
    """Several gateway worker processes share the queue: a chat another sender has taken (its sender key) is
    left to it, and a message being sent is locked (SKIP LOCKED), so every message goes once, in the order it
    was queued."""
    user, learner = await registered(gateway, tg, resources)
    await hold_chat_window(resources, user.id, 2)
    events = [await publish(services, balance_low(learner["id"], balance)) for balance in (101, 102, 103, 104)]
    await until(lambda: handled(resources, events), what="every event handled")
    queued = [balance_of(row.text) for row in await rows_of(resources, learner["id"])]
    second = NotificationDelivery(resources.sessionmaker, gateway.sender, NotificationPolicy(), asyncio.Event())

    # This process's job (the `gateway` fixture's) and a second sender, side by side.
    await second.drain()
    await until(lambda: _told(tg, user.id, queued), timeout=30, what="the chat told")
    await until(lambda: _settled(resources, learner["id"]), what="the last one marked")  # after Telegram's answer

    rows = await rows_of(resources, learner["id"])
    assert [(row.status, row.attempts) for row in rows] == [("sent", 1)] * 4
    calls = [
        c
        for c in await tg.calls(method="sendMessage")
        if c.params.get("chat_id") in (user.id, str(user.id)) and LOW in str(c.params.get("text"))
    ]
    assert len(calls) == 4


async def test_a_chat_another_process_is_sending_to_is_left_to_it(gateway, tg, services, resources):
    """Without the chat's sender key, a second process found the chat due, took one of its send seconds,
    then found its first message locked by the first process: each such try pushed the chat's next message
    a second later. Now it leaves the chat alone until the other process's key is gone (its lease over)."""
    user, learner = await registered(gateway, tg, resources)
    await asyncio.sleep(1.2)  # the welcome's second is over
    redis, prefix = resources.redis, resources.settings.redis_prefix
    sender_key = redis_keys.notification_sender(prefix, user.id)
    await redis.set(sender_key, "another-process", px=60_000)
    event = await publish(services, balance_low(learner["id"], 123))
    await until(lambda: handled(resources, [event]), what="the event handled")

    second = NotificationDelivery(resources.sessionmaker, gateway.sender, NotificationPolicy(), asyncio.Event())
    await second.drain()
    await asyncio.sleep(1.0)  # the gateway's own job looked too (every 0.5 s)

    assert await told_balances(tg, user.id) == []
    assert await redis.zcard(redis_keys.chat_send_window(prefix, user.id)) == 0  # no send second taken
    assert await redis.get(sender_key) in (b"another-process", "another-process")
    await redis.delete(sender_key)  # the other process's lease is over
    await until(lambda: _told(tg, user.id, [123]), what="the message sent")
    assert await redis.get(sender_key) not in (None, b"another-process", "another-process")  # this process's now


async def test_a_send_telegram_did_not_take_is_tried_again_and_a_refused_one_is_not(gateway, tg, services, resources):
    """A 5xx is tried again after a pause (the row waits with `not_before`, its attempts counted); a 400 is
    Telegram's final word: `failed`, with its reason, and the chat's next message goes on."""
    user, learner = await registered(gateway, tg, resources)
    await asyncio.sleep(1.2)  # the welcome's second is over
    await tg.fail_next(1, methods=["sendMessage"], error_code=502, retry_after=None, description="Bad Gateway")
    retried = await publish(services, balance_low(learner["id"], 77))
    await until(lambda: _told(tg, user.id, [77]), what="the message sent after the 502")
    await until(lambda: _settled(resources, learner["id"]), what="it marked")  # after Telegram's answer
    (row,) = await rows_of(resources, learner["id"])
    assert (row.status, row.attempts) == ("sent", 2)
    assert row.not_before is not None

    await tg.fail_next(1, methods=["sendMessage"], error_code=400, retry_after=None, description="Bad Request: nope")
    refused = await publish(services, balance_low(learner["id"], 88))
    await until(lambda: handled(resources, [retried, refused]), what="both handled")
    await until(lambda: _settled(resources, learner["id"]), what="the refused one settled")
    rows = await rows_of(resources, learner["id"])
    assert [(r.status, r.attempts) for r in rows] == [("sent", 2), ("failed", 1)]
    assert "nope" in (rows[1].error or "")
    await publish(services, balance_low(learner["id"], 99))
    await until(lambda: _told(tg, user.id, [77, 99]), what="the chat's next message")


async def _settled(resources, user_id: int) -> bool:
    return all(row.status != "pending" for row in await rows_of(resources, user_id, kind=None))


async def registered(gateway, tg, resources):
    """A learner registered, their chat opened, and the welcome points' message sent (out of the way)."""
    user, learner = await register(gateway, tg)
    await until(lambda: _welcomed(resources, learner["id"]), what="the welcome points told")
    return user, learner


async def _welcomed(resources, user_id: int) -> bool:
    rows = await rows_of(resources, user_id, kind=None)
    return bool(rows) and await _settled(resources, user_id)


async def _queued_course_facts(gateway, tg, services, resources):
    """A learner whose chat's send second is held while a course's congratulation and its points (no buttons)
    are queued: (the learner's Telegram user, user id, course title, the window's key, the two rows' kinds)."""
    user, learner = await registered(gateway, tg, resources)
    window = await hold_chat_window(resources, user.id, 30)
    course_id, award = 900_000 + secrets.randbelow(90_000), 10**9 + secrets.randbelow(10**8)
    title = f"Курс-{secrets.token_hex(3)}"
    points = course_points(learner["id"], award, course_id=course_id, title=title, points=100, total=150)
    await deliver_to_gateway(resources, completed(learner["id"], course_id, title), points)
    await until(lambda: _pending(resources, learner["id"], 2), what="both queued")
    return user, learner["id"], title, window, {f"course_completed:{course_id}", f"points:{award}"}


async def _pending(resources, user_id: int, count: int) -> bool:
    rows = await rows_of(resources, user_id, kind=None)
    return [row.status for row in rows].count("pending") == count


async def test_notifications_due_together_go_out_as_one_message_in_their_order(gateway, tg, services, resources):
    """Telegram takes one message a second per chat, and a course completed brings several: those due when
    the chat's second comes go together, in the order they were queued (issue 11: the course's points came
    2-4 s after the congratulation, one send second each)."""
    user, user_id, title, window, kinds = await _queued_course_facts(gateway, tg, services, resources)
    combined_before = _combined()

    await resources.redis.delete(window)  # the chat's second has come

    told = await tg.wait_for_message(user.id, has_text(f"+100 баллов за курс «{title}»"), timeout=20)
    assert f"Вы прошли курс «{title}»" in told.text
    assert told.text.index("Вы прошли курс") < told.text.index("баллов за курс")
    await until(lambda: _settled(resources, user_id), what="both marked")
    rows = await rows_of(resources, user_id, kind=None)
    sent = [row for row in rows if row.kind in kinds]
    assert [row.status for row in sent] == ["sent", "sent"]
    assert {row.telegram_message_id for row in sent} == {told.message_id}
    assert _combined() == combined_before + 1
    congratulations = [m for m in await tg.messages(user.id) if f"Вы прошли курс «{title}»" in (m.text or "")]
    assert len(congratulations) == 1


async def test_a_combined_message_telegram_refuses_goes_again_one_message_at_a_time(gateway, tg, services, resources):
    """Which of the combined texts Telegram refused is not known: each goes on its own, to its own outcome,
    and none is given up for the other's fault."""
    user, user_id, title, window, kinds = await _queued_course_facts(gateway, tg, services, resources)
    await tg.fail_next(1, methods=["sendMessage"], error_code=400, retry_after=None, description="Bad Request: test")

    await resources.redis.delete(window)

    await tg.wait_for_message(user.id, has_text(f"+100 баллов за курс «{title}»"), timeout=20)
    await until(lambda: _settled(resources, user_id), what="both marked")
    rows = await rows_of(resources, user_id, kind=None)
    sent = [row for row in rows if row.kind in kinds]
    assert [row.status for row in sent] == ["sent", "sent"]
    assert len({row.telegram_message_id for row in sent}) == 2  # one by one
    texts = [m.text or "" for m in await tg.messages(user.id)]
    assert sum(f"Вы прошли курс «{title}»" in text for text in texts) == 1
    assert sum(f"+100 баллов за курс «{title}»" in text for text in texts) == 1


def _combined() -> float:
    return REGISTRY.get_sample_value("academy_bot_notifications_combined_total") or 0.0
