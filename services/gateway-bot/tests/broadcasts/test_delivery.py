"""Issue 12: broadcasts reach exactly their segment, in each learner's language, within Telegram's limits,
at most once each, around quiet hours, pauses, cancels, 429s and a sender that dies mid-send — against the
Bot API emulator, PostgreSQL, Redis and the in-process users and progress services."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from academy_gateway_bot import metrics
from academy_gateway_bot.broadcasts.delivery import DeliveryPolicy
from academy_gateway_bot.broadcasts.message import Content
from academy_gateway_bot.broadcasts.repository import BroadcastRepository
from academy_gateway_bot.learners import LearnerRepository
from academy_gateway_bot.models import Broadcast, Learner
from academy_gateway_bot.notifications.sender import NotificationSender
from academy_runtime.db import transaction
from aiogram.types import Message
from sqlalchemy import select, update

from .support import NO_QUIET_HOURS, create, delivery_for, drain, recipients, start, unique_city

pytestmark = pytest.mark.integration


async def test_a_city_broadcast_reaches_exactly_its_learners_in_their_language(
    broadcaster, make_learner, resources, bot_runtime, tg
):
    city = unique_city()
    anna = await make_learner(city)
    john = await make_learner(city.upper(), locale="en")  # the city as learners type it, any case
    elsewhere = await make_learner(unique_city())
    blocked_before = await make_learner(city, blocked=True)
    blocks_now = await make_learner(city)
    await tg.block_bot(blocks_now.chat_id)  # Telegram answers 403 to the send
    opted_out = await make_learner(city, announcements=False)
    created = await create(
        broadcaster,
        text_ru="<b>Мастер-класс</b> в субботу",
        text_en="<b>Workshop</b> on Saturday",
        button={"url": "https://example.com/ws", "text_ru": "Записаться", "text_en": "Sign up"},
        segment={"kind": "city", "value": city},
    )
    assert created["status"] == "draft"
    assert created["created_by"] == "olga"
    assert (await start(broadcaster, created["id"]))["status"] == "sending"

    await drain(delivery_for(resources, bot_runtime), created["id"])

    body = (await broadcaster.get(f"/internal/broadcasts/{created['id']}")).json()
    assert body["status"] == "finished"
    assert body["figures"] == {
        "recipients": 5,
        "pending": 0,
        "sending": 0,
        "sent": 2,
        "blocked": 2,
        "failed": 0,
        "skipped": 1,
        "unknown": 0,
    }
    [to_anna] = await tg.messages(anna.chat_id)
    [to_john] = await tg.messages(john.chat_id)
    assert to_anna.text == "Мастер-класс в субботу"
    assert to_john.text == "Workshop on Saturday"
    assert [b["text"] for b in to_anna.inline_buttons()] == ["Записаться", "🔕 Не присылать объявления"]
    assert [b["text"] for b in to_john.inline_buttons()] == ["Sign up", "🔕 No more announcements"]
    for nobody in (elsewhere, blocked_before, blocks_now, opted_out):
        assert await tg.messages(nobody.chat_id) == []
    async with resources.sessionmaker() as session:
        learner = await session.get(Learner, blocks_now.user_id)
        assert learner is not None
        assert learner.blocked_at is not None  # the 403 is remembered for every later send


async def test_resolving_twice_lists_nobody_twice(broadcaster, make_learner, resources, bot_runtime):
    city = unique_city()
    for _ in range(3):
        await make_learner(city)
    created = await create(broadcaster, segment={"kind": "city", "value": city})
    await start(broadcaster, created["id"])
    delivery = delivery_for(resources, bot_runtime)
    assert await delivery.resolve(created["id"])
    async with transaction(resources.sessionmaker) as session:
        await session.execute(update(Broadcast).where(Broadcast.id == created["id"]).values(resolved_at=None))
    assert await delivery.resolve(created["id"])
    assert len(await recipients(resources, created["id"])) == 3


async def test_quiet_hours_defer_until_the_learners_morning(broadcaster, make_learner, resources, bot_runtime, tg):
    city = unique_city()
    moscow = await make_learner(city, time_zone="Europe/Moscow")
    new_york = await make_learner(city, time_zone="America/New_York")
    unknown_zone = await make_learner(city, time_zone=None)  # the default zone: Moscow
    created = await create(broadcaster, segment={"kind": "city", "value": city})
    await start(broadcaster, created["id"])
    evening = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # 22:00 in Moscow, 14:00 in New York
    now = [evening]
    policy = DeliveryPolicy(quiet_start_hour=21, quiet_end_hour=9, concurrency=4)
    delivery = delivery_for(resources, bot_runtime, policy, clock=lambda: now[0])

    await drain(delivery, created["id"])

    rows = await recipients(resources, created["id"])
    assert rows[new_york.user_id].status == "sent"
    morning = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
    for deferred in (moscow, unknown_zone):
        assert (rows[deferred.user_id].status, rows[deferred.user_id].not_before) == ("pending", morning)
        assert rows[deferred.user_id].attempts == 0
        assert await tg.messages(deferred.chat_id) == []
    assert (await broadcaster.get(f"/internal/broadcasts/{created['id']}")).json()["status"] == "sending"

    now[0] = morning + timedelta(minutes=1)
    await drain(delivery, created["id"])

    assert (await broadcaster.get(f"/internal/broadcasts/{created['id']}")).json()["figures"]["sent"] == 3
    assert len(await tg.messages(moscow.chat_id)) == 1


async def test_pause_stops_resume_continues_cancel_ends(broadcaster, make_learner, resources, bot_runtime, tg):
    city = unique_city()
    learners = [await make_learner(city) for _ in range(3)]
    created = await create(broadcaster, segment={"kind": "city", "value": city})
    url = f"/internal/broadcasts/{created['id']}"
    await start(broadcaster, created["id"])
    delivery = delivery_for(resources, bot_runtime)
    assert await delivery.resolve(created["id"])

    assert (await broadcaster.post(f"{url}/pause")).json()["status"] == "paused"
    assert not await delivery.work_on(created["id"])
    assert (await broadcaster.get(url)).json()["figures"]["pending"] == 3
    assert all([await tg.messages(learner.chat_id) == [] for learner in learners])

    assert (await broadcaster.post(f"{url}/resume")).json()["status"] == "sending"
    await drain(delivery, created["id"])
    assert (await broadcaster.get(url)).json()["figures"]["sent"] == 3
    assert (await broadcaster.get(url)).json()["status"] == "finished"

    refused = await broadcaster.post(f"{url}/pause")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "invalid_transition"
    assert refused.json()["error"]["details"] == {"status": "finished"}

    other = await create(broadcaster, segment={"kind": "city", "value": city})
    other_url = f"/internal/broadcasts/{other['id']}"
    await start(broadcaster, other["id"])
    assert await delivery.resolve(other["id"])
    cancelled = (await broadcaster.post(f"{other_url}/cancel")).json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["figures"]["skipped"] == 3
    assert not await delivery.work_on(other["id"])
    assert all([len(await tg.messages(learner.chat_id)) == 1 for learner in learners])  # the first one only
    assert (await broadcaster.post(f"{other_url}/resume")).status_code == 409
    assert (await broadcaster.post(f"{other_url}/send")).status_code == 409


class _LikeTheRuntimes(NotificationSender):
    """A sender with the test runtime's bot, Redis and limits, for subclasses that change one step of it."""

    def __init__(self, runtime_sender: NotificationSender) -> None:
        super().__init__(
            runtime_sender.bot,
            runtime_sender.redis,
            prefix=runtime_sender.prefix,
            global_per_s=runtime_sender.global_per_s,
            per_chat_per_s=runtime_sender.per_chat_per_s,
        )


class _DiesMidSend(_LikeTheRuntimes):
    """The real sender, whose process "dies" after `survives` messages: the next message reaches Telegram,
    then its task hangs before the mark (the test cancels it, as a SIGKILL would end it)."""

    def __init__(self, runtime_sender: NotificationSender, survives: int) -> None:
        super().__init__(runtime_sender)
        self.survives = survives
        self.hanging = asyncio.Event()

    async def deliver(self, chat_id, call, **kwargs):  # type: ignore[no-untyped-def]
        message: Message = await super().deliver(chat_id, call, **kwargs)
        if self.survives == 0:
            self.hanging.set()
            await asyncio.Event().wait()
        self.survives -= 1
        return message


async def test_a_sender_killed_mid_send_is_resumed_without_a_duplicate(
    broadcaster, make_learner, resources, bot_runtime, tg
):
    city = unique_city()
    learners = [await make_learner(city) for _ in range(5)]
    created = await create(broadcaster, segment={"kind": "city", "value": city})
    await start(broadcaster, created["id"])
    dying = delivery_for(resources, bot_runtime, DeliveryPolicy(quiet_start_hour=0, quiet_end_hour=0, concurrency=1))
    dying.sender = _DiesMidSend(bot_runtime.sender, survives=2)
    assert await dying.resolve(created["id"])
    async with resources.sessionmaker() as session:
        broadcast = await session.get(Broadcast, created["id"])
        assert broadcast is not None
        content = Content.of(broadcast)
    pump = asyncio.create_task(dying.pump(created["id"], content))
    await asyncio.wait_for(dying.sender.hanging.wait(), 10)
    pump.cancel()  # the process is gone between the Bot API call and the mark
    await asyncio.gather(pump, return_exceptions=True)
    assert (await broadcaster.get(f"/internal/broadcasts/{created['id']}")).json()["figures"]["sending"] == 1

    # A new sender: the claim it finds `sending` past the lease is not sent again, the rest are.
    lease_over = DeliveryPolicy(quiet_start_hour=0, quiet_end_hour=0, concurrency=4, claim_lease_s=0)
    await drain(delivery_for(resources, bot_runtime, lease_over), created["id"])

    body = (await broadcaster.get(f"/internal/broadcasts/{created['id']}")).json()
    assert body["status"] == "finished"
    assert (body["figures"]["sent"], body["figures"]["unknown"]) == (4, 1)
    for learner in learners:
        assert len(await tg.messages(learner.chat_id)) == 1  # every one got it, nobody twice


async def test_telegrams_429_is_honoured(broadcaster, make_learner, resources, bot_runtime, tg):
    city = unique_city()
    learners = [await make_learner(city) for _ in range(4)]
    created = await create(broadcaster, segment={"kind": "city", "value": city})
    await start(broadcaster, created["id"])
    before = metrics.TELEGRAM_RETRY_AFTER._value.get()
    calls_before = await tg.calls("sendMessage")
    since = calls_before[-1].seq if calls_before else 0
    await tg.set_rate_limit(global_per_second=1000, per_chat_per_second=1, inject_every=2, injected_retry_after=1)

    # A 429's recipient waits `retry_after` as `pending` with `not_before`, so rounds go on until it is due.
    delivery = delivery_for(resources, bot_runtime)
    for _ in range(100):
        await drain(delivery, created["id"])
        if (await broadcaster.get(f"/internal/broadcasts/{created['id']}")).json()["status"] == "finished":
            break
        await asyncio.sleep(0.2)

    assert (await broadcaster.get(f"/internal/broadcasts/{created['id']}")).json()["figures"]["sent"] == 4
    for learner in learners:
        assert len(await tg.messages(learner.chat_id)) == 1
    refused = [call for call in await tg.calls("sendMessage", since=since) if not call.ok]
    assert refused
    assert all(call.error_code == 429 for call in refused)
    assert metrics.TELEGRAM_RETRY_AFTER._value.get() >= before + len(refused)


async def test_the_pending_gauge_and_the_outcomes_are_counted(broadcaster, make_learner, resources, bot_runtime):
    city = unique_city()
    await make_learner(city)
    await make_learner(city, announcements=False)
    created = await create(broadcaster, segment={"kind": "city", "value": city})
    await start(broadcaster, created["id"])
    sent_before = metrics.BROADCAST_DELIVERIES.labels(outcome="sent")._value.get()
    skipped_before = metrics.BROADCAST_DELIVERIES.labels(outcome="skipped")._value.get()
    delivery = delivery_for(resources, bot_runtime)
    assert await delivery.resolve(created["id"])
    async with resources.sessionmaker() as session:
        assert await BroadcastRepository(session).pending_total() >= 1
    await drain(delivery, created["id"])
    assert metrics.BROADCAST_DELIVERIES.labels(outcome="sent")._value.get() == sent_before + 1
    assert metrics.BROADCAST_DELIVERIES.labels(outcome="skipped")._value.get() == skipped_before + 1
    async with resources.sessionmaker() as session:
        statuses = (await session.execute(select(Broadcast.status).where(Broadcast.id == created["id"]))).scalar_one()
    assert statuses == "finished"


def test_quiet_hours_policy():
    policy = DeliveryPolicy(quiet_start_hour=21, quiet_end_hour=9)
    noon_utc = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert policy.quiet_until(noon_utc, "Europe/Moscow") is None  # 15:00
    assert policy.quiet_until(noon_utc, "Asia/Tokyo") == datetime(2026, 6, 2, 0, 0, tzinfo=UTC)  # 21:00 → 09:00
    assert policy.quiet_until(noon_utc, "Pacific/Honolulu") == datetime(2026, 6, 1, 19, 0, tzinfo=UTC)  # 02:00
    assert policy.quiet_until(noon_utc, "No/Such_Zone") is None  # the default zone, Moscow, 15:00
    assert NO_QUIET_HOURS.quiet_until(noon_utc, "Asia/Tokyo") is None


async def test_an_erased_learner_leaves_no_broadcast_row(broadcaster, make_learner, resources, bot_runtime):
    city = unique_city()
    kept = await make_learner(city)
    erased = await make_learner(city)
    created = await create(broadcaster, segment={"kind": "city", "value": city})
    await start(broadcaster, created["id"])
    assert await delivery_for(resources, bot_runtime).resolve(created["id"])
    async with transaction(resources.sessionmaker) as session:
        await LearnerRepository(session).erase(erased.user_id, erased_at=datetime.now(UTC))
    assert set(await recipients(resources, created["id"])) == {kept.user_id}  # their chat id went with them


async def test_a_429_puts_the_recipient_back_so_a_cancel_meanwhile_is_obeyed(
    broadcaster, make_learner, resources, bot_runtime, tg
):
    """The sender hands a broadcast's 429 back at once: the recipient waits as `pending` with `not_before`
    (not inside the sender, where a pause or a cancel could not reach it: QA saw a cancelled broadcast
    delivered ten seconds later, when the retry_after was over)."""
    city = unique_city()
    [learner] = [await make_learner(city)]
    created = await create(broadcaster, segment={"kind": "city", "value": city})
    url = f"/internal/broadcasts/{created['id']}"
    await start(broadcaster, created["id"])
    await tg.fail_next(1, retry_after=30, methods=["sendMessage"])

    await drain(delivery_for(resources, bot_runtime), created["id"])

    [row] = (await recipients(resources, created["id"])).values()
    assert row.status == "pending"
    assert row.not_before is not None
    assert row.not_before > datetime.now(UTC) + timedelta(seconds=20)
    cancelled = (await broadcaster.post(f"{url}/cancel")).json()
    assert (cancelled["status"], cancelled["figures"]["skipped"], cancelled["figures"]["sending"]) == (
        "cancelled",
        1,
        0,
    )
    assert await tg.messages(learner.chat_id) == []


class _WindowNeverOpens(_LikeTheRuntimes):
    """The real sender whose send windows stay full: every send waits for its slot (as 32 sends in flight do at
    Telegram's 30/s) until the test stops the worker."""

    def __init__(self, runtime_sender: NotificationSender) -> None:
        super().__init__(runtime_sender)
        self.waiting = 0

    async def _acquire(self, chat_id: int) -> None:
        self.waiting += 1
        await asyncio.Event().wait()


async def test_a_worker_stopped_while_its_sends_wait_for_a_window_puts_them_back(
    broadcaster, make_learner, resources, bot_runtime, tg
):
    """A stop (Ctrl-C of `make run`, a rolling update) cancels the sends in flight; those still waiting for a
    send window never reached Telegram, so they go back to `pending` and the next worker sends them — they do
    not turn `unknown` after the lease (QA: a stop during a wait lost the broadcast for those learners)."""
    city = unique_city()
    learners = [await make_learner(city) for _ in range(3)]
    created = await create(broadcaster, segment={"kind": "city", "value": city})
    await start(broadcaster, created["id"])
    stopping = delivery_for(resources, bot_runtime)
    stopping.sender = _WindowNeverOpens(bot_runtime.sender)
    assert await stopping.resolve(created["id"])
    async with resources.sessionmaker() as session:
        broadcast = await session.get(Broadcast, created["id"])
        assert broadcast is not None
        content = Content.of(broadcast)
    pump = asyncio.create_task(stopping.pump(created["id"], content))
    for _ in range(200):
        if stopping.sender.waiting == 3:
            break
        await asyncio.sleep(0.05)
    assert stopping.sender.waiting == 3
    pump.cancel()
    await asyncio.gather(pump, return_exceptions=True)

    figures = (await broadcaster.get(f"/internal/broadcasts/{created['id']}")).json()["figures"]
    assert (figures["pending"], figures["sending"]) == (3, 0)
    lease_over = DeliveryPolicy(quiet_start_hour=0, quiet_end_hour=0, claim_lease_s=0)
    await drain(delivery_for(resources, bot_runtime, lease_over), created["id"])
    body = (await broadcaster.get(f"/internal/broadcasts/{created['id']}")).json()
    assert (body["status"], body["figures"]["sent"], body["figures"]["unknown"]) == ("finished", 3, 0)
    for learner in learners:
        assert len(await tg.messages(learner.chat_id)) == 1
