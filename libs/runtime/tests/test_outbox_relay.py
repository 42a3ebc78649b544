import asyncio
import contextlib
import uuid

import pytest
from academy_contracts import build_event
from academy_devstack.chaos import TcpProxy
from academy_runtime import metrics
from academy_runtime.bus import EventTooLargeError
from academy_runtime.relay import OutboxRelay
from sqlalchemy import func, insert, select

from .conftest import messaging
from .helpers import eventually, registered

pytestmark = pytest.mark.integration


async def _write(resources, *user_ids: int, commit: bool = True) -> None:
    async with resources.sessionmaker() as session, session.begin() as tx:
        for user_id in user_ids:
            await messaging.publish(session, registered(user_id))
        if not commit:
            await tx.rollback()


async def _unpublished(resources) -> int:
    async with resources.sessionmaker() as session:
        stmt = select(func.count()).select_from(messaging.outbox).where(messaging.outbox.c.published_at.is_(None))
        return (await session.execute(stmt)).scalar_one()


async def test_a_rolled_back_transaction_publishes_nothing(resources, event_probe):
    await _write(resources, 1, commit=False)
    relay = OutboxRelay(resources.settings, resources.sessionmaker, messaging)
    try:
        assert await relay.publish_pending() == 0
    finally:
        await relay.close()
    assert await event_probe.drain() == []


async def test_committed_events_are_published_in_order_and_marked(resources, event_probe):
    await _write(resources, 1, 2, 3)
    relay = OutboxRelay(resources.settings, resources.sessionmaker, messaging)
    try:
        assert await relay.publish_pending() == 3
    finally:
        await relay.close()

    events = [await event_probe.next() for _ in range(3)]
    assert [e["data"]["user_id"] for e in events] == [1, 2, 3]
    assert all(e["type"] == "users.user_registered.v1" for e in events)
    assert await _unpublished(resources) == 0


async def test_the_running_relay_wakes_on_notify_rather_than_polling(resources, event_probe):
    # With a 60 s poll interval only the NOTIFY sent at commit can wake the relay in time.
    settings = resources.settings.model_copy(update={"outbox_poll_interval_s": 60.0})
    relay = OutboxRelay(settings, resources.sessionmaker, messaging)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.5)  # let it start listening and go to sleep
        await _write(resources, 7)
        event = await event_probe.next("users.user_registered.v1", timeout=15)
    finally:
        relay.stop()
        await task
        await relay.close()
    assert event["data"]["user_id"] == 7


async def test_one_notify_per_transaction_and_a_savepoint_rolled_back_does_not_silence_the_next(resources, event_probe):
    """Three events in one transaction send one NOTIFY (a round trip each was a tenth of gamification's
    statements); a NOTIFY made inside a savepoint that rolls back is gone with it, so the outer transaction
    sends its own, and the relay, polling only every 60 s, still wakes at the commit."""
    from sqlalchemy import event as sa_event

    statements: list[str] = []
    settings = resources.settings.model_copy(update={"outbox_poll_interval_s": 60.0})
    relay = OutboxRelay(settings, resources.sessionmaker, messaging)
    task = asyncio.create_task(relay.run())

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa_event.listen(resources.engine.sync_engine, "before_cursor_execute", seen)
    try:
        await asyncio.sleep(0.5)
        async with resources.sessionmaker() as session, session.begin():
            for user_id in (31, 32, 33):
                await messaging.publish(session, registered(user_id))
        assert sum(s.startswith("NOTIFY") for s in statements) == 1
        assert {(await event_probe.next(timeout=15))["data"]["user_id"] for _ in range(3)} == {31, 32, 33}

        statements.clear()
        async with resources.sessionmaker() as session, session.begin():
            savepoint = await session.begin_nested()
            await messaging.publish(session, registered(34))
            await savepoint.rollback()
            await messaging.publish(session, registered(35))
        assert sum(s.startswith("NOTIFY") for s in statements) == 2
        assert (await event_probe.next(timeout=15))["data"]["user_id"] == 35
    finally:
        sa_event.remove(resources.engine.sync_engine, "before_cursor_execute", seen)
        relay.stop()
        await task
        await relay.close()
    assert await event_probe.drain() == []


async def test_two_relays_never_publish_a_row_twice(resources, event_probe):
    await _write(resources, *range(100, 160))
    relays = [
        OutboxRelay(resources.settings.model_copy(update={"outbox_batch_size": 7}), resources.sessionmaker, messaging)
        for _ in range(2)
    ]
    try:
        counts = await asyncio.gather(*(r.publish_pending() for r in relays))
    finally:
        for relay in relays:
            await relay.close()
    assert sum(counts) == 60
    ids = sorted([(await event_probe.next())["data"]["user_id"] for _ in range(60)])
    assert ids == list(range(100, 160))
    assert await event_probe.drain() == []


async def test_relay_survives_a_broker_outage_without_losing_an_event(resources, event_probe):
    host_port = resources.settings.rabbitmq_url.rsplit("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    proxy = TcpProxy(host, int(port)).start()
    url = resources.settings.rabbitmq_url.replace(host_port, f"127.0.0.1:{proxy.port}")
    settings = resources.settings.model_copy(update={"rabbitmq_url": url, "outbox_poll_interval_s": 0.2})
    relay = OutboxRelay(settings, resources.sessionmaker, messaging)
    task = asyncio.create_task(relay.run())
    try:
        await _write(resources, 201, 202)
        await eventually(lambda: _unpublished_is(resources, 0), what="first events published")
        proxy.cut()  # the broker goes away with events in flight
        await _write(resources, 203, 204, 205)
        await asyncio.sleep(1.0)
        assert await _unpublished(resources) == 3  # nothing lost, nothing marked published
        proxy.restore()
        await eventually(lambda: _unpublished_is(resources, 0), timeout=30, what="backlog published after outage")
    finally:
        relay.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)
        await relay.close()
        proxy.close()
    received = set()
    with contextlib.suppress(TimeoutError):
        while len(received) < 5:
            received.add((await event_probe.next(timeout=10))["data"]["user_id"])
    assert received == {201, 202, 203, 204, 205}


async def _unpublished_is(resources, expected: int) -> bool:
    return await _unpublished(resources) == expected


def _parked(resources, reason: str) -> float:
    return metrics.OUTBOX_PARKED.labels(
        resources.settings.service_name, "users.user_registered.v1", reason
    )._value.get()


async def test_rows_that_can_never_be_published_are_parked_and_do_not_hold_up_the_rows_behind_them(
    resources, event_probe
):
    """More than one full batch of unpublishable rows ahead of good ones: the good ones still go out, in order."""
    settings = resources.settings.model_copy(update={"max_event_bytes": 2000})
    batch = settings.outbox_batch_size
    oversized_ids = []
    async with resources.sessionmaker() as session, session.begin():
        for n in range(batch + 1):  # a whole batch of them, and one more
            payload = build_event(registered(1000 + n)).model_dump(mode="json", exclude_none=True)
            payload["data"]["padding"] = "x" * 2000
            oversized_ids.append(payload["id"])
            await session.execute(
                insert(messaging.outbox).values(
                    event_id=uuid.UUID(payload["id"]), event_type=payload["type"], payload=payload
                )
            )
        # A payload the relay cannot encode as a CloudEvent message (no id, no type).
        await session.execute(
            insert(messaging.outbox).values(
                event_id=uuid.uuid4(), event_type="users.user_registered.v1", payload={"not": "an event"}
            )
        )
    await _write(resources, 301, 302, 303)
    oversized_before, unencodable_before = _parked(resources, "oversized"), _parked(resources, "unencodable")

    relay = OutboxRelay(settings, resources.sessionmaker, messaging)
    try:
        assert await relay.publish_pending() == 3
        assert await relay.publish_pending() == 0  # parked rows are not claimed again
    finally:
        await relay.close()

    events = [await event_probe.next(timeout=15) for _ in range(3)]
    assert [e["data"]["user_id"] for e in events] == [301, 302, 303]
    assert await event_probe.drain() == []
    assert _parked(resources, "oversized") == oversized_before + batch + 1
    assert _parked(resources, "unencodable") == unencodable_before + 1
    outbox = messaging.outbox
    async with resources.sessionmaker() as session:
        rows = (
            await session.execute(
                select(
                    outbox.c.event_id, outbox.c.published_at, outbox.c.parked_at, outbox.c.attempts, outbox.c.last_error
                )
                .where(outbox.c.parked_at.is_not(None))
                .order_by(outbox.c.id)
            )
        ).all()
        waiting = (
            await session.execute(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))
            )
        ).scalar_one()
    assert len(rows) == batch + 2
    assert [str(r.event_id) for r in rows[:-1]] == oversized_ids
    assert all(r.published_at is None and r.attempts == 1 for r in rows)
    assert all("over the bus limit" in r.last_error for r in rows[:-1])
    assert "KeyError" in rows[-1].last_error or "type" in rows[-1].last_error
    assert waiting == 0


async def test_a_parked_row_is_published_once_an_operator_clears_it(resources, event_probe):
    settings = resources.settings.model_copy(update={"max_event_bytes": 2000})
    payload = build_event(registered(310)).model_dump(mode="json", exclude_none=True)
    payload["data"]["padding"] = "x" * 2000
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(
            insert(messaging.outbox).values(
                event_id=uuid.UUID(payload["id"]), event_type=payload["type"], payload=payload
            )
        )
    relay = OutboxRelay(settings, resources.sessionmaker, messaging)
    try:
        assert await relay.publish_pending() == 0
        async with resources.sessionmaker() as session, session.begin():  # the limit is raised, the row released
            await session.execute(messaging.outbox.update().values(parked_at=None))
        relay.settings = resources.settings
        assert await relay.publish_pending() == 1
    finally:
        await relay.close()
    assert (await event_probe.next())["data"]["user_id"] == 310


async def test_events_written_together_are_published_in_their_order_with_their_ids(resources, event_probe):
    chosen = uuid.uuid4()
    async with resources.sessionmaker() as session, session.begin():
        written = await messaging.publish_all(session, [(registered(61), chosen), (registered(62), None)])
    assert written[0].id == str(chosen)
    relay = OutboxRelay(resources.settings, resources.sessionmaker, messaging)
    try:
        assert await relay.publish_pending() == 2
    finally:
        await relay.close()

    events = [await event_probe.next() for _ in range(2)]
    assert [(e["id"], e["data"]["user_id"]) for e in events] == [(str(chosen), 61), (written[1].id, 62)]


async def test_events_written_together_are_refused_together_when_one_is_oversized(resources, monkeypatch):
    small = registered(63)
    large = small.model_copy(update={"full_name": "x" * 200})
    monkeypatch.setattr(messaging, "max_event_bytes", len(build_event(small).to_json()) + 50)
    async with resources.sessionmaker() as session, session.begin():
        with pytest.raises(EventTooLargeError):
            await messaging.publish_all(session, [(small, None), (large, None)])
        # Nothing was written before the refusal, not even in this transaction.
        assert (await session.execute(select(func.count()).select_from(messaging.outbox))).scalar_one() == 0


async def test_an_event_no_queue_is_bound_to_is_published_and_not_returned(resources):
    # A type nothing binds (the bus is publish/subscribe: no subscriber yet is not an error), published
    # without `mandatory`: the broker drops it instead of sending its body back to the relay.
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(
            insert(messaging.outbox).values(
                event_id=uuid.uuid4(),
                event_type="nobody.binds_this.v1",
                partition_key=None,
                payload=build_event(registered(64)).model_dump(mode="json", exclude_none=True)
                | {"type": "nobody.binds_this.v1"},
            )
        )
    relay = OutboxRelay(resources.settings, resources.sessionmaker, messaging)
    returned: list[object] = []
    try:
        exchange = await relay._ensure_exchange()
        channel = await exchange.channel.get_underlay_channel()
        channel.on_return_callbacks.add(returned.append)
        assert await relay.publish_pending() == 1
        await asyncio.sleep(0.3)  # a basic.return would come right after the confirm
    finally:
        await relay.close()
    assert returned == []
    assert await _unpublished(resources) == 0
