"""A consumer with `batch_size` > 1 handles a backlog in shared transactions, and keeps every guarantee of
one event per transaction: one effect per event, a failing event retried alone, duplicates absorbed."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from academy_contracts.users import UserRegisteredV1
from academy_runtime import metrics
from academy_runtime.consumer import Consumer, ConsumerRuntime, declare_consumer_queues
from academy_runtime.resources import Resources
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import select, text

from .conftest import Effect, effects, failures, messaging, purge_registrations, registrations
from .helpers import eventually, publish_event, publish_raw, registered

pytestmark = pytest.mark.integration

BATCH = 8


@pytest.fixture
async def batched(resources: Resources) -> AsyncIterator[ConsumerRuntime]:
    """The `registrations` consumer with batches of 8, not started: the test queues a backlog first."""
    await declare_consumer_queues(resources.settings, [registrations])
    registrations.batch_size = BATCH
    consumer_runtime = ConsumerRuntime(resources, messaging, [registrations])
    yield consumer_runtime
    await consumer_runtime.stop()
    registrations.batch_size = 1
    await purge_registrations(resources.settings)


def _fallbacks(resources: Resources) -> float:
    child = metrics.CONSUMER_BATCH_FALLBACKS.labels(resources.settings.service_name, "registrations")
    return child._value.get()


async def _all_handled(resources: Resources, users: range) -> bool:
    return all([await effects(resources, user) == 1 for user in users])


async def test_a_backlog_is_handled_in_batches_each_event_once(resources, batched):
    users = range(100, 124)
    for user in users:
        await publish_event(resources.settings, registered(user))

    await batched.start()

    await eventually(lambda: _all_handled(resources, users), what="every event of the backlog handled")
    transactions = {failures.transactions[user] for user in users}
    # 24 events in batches of at most 8: at least three shared transactions, far fewer than one per event.
    assert 3 <= len(transactions) <= 12
    assert all(failures.calls[user] == 1 for user in users)


async def test_a_failing_event_rolls_its_batch_back_and_is_retried_alone(resources, batched):
    users = range(200, 216)
    failures.remaining[205] = 2  # fails in the batch, then alone: retried, and succeeds on attempt 2
    fallbacks_before = _fallbacks(resources)
    for user in users:
        await publish_event(resources.settings, registered(user))

    await batched.start()

    await eventually(lambda: _all_handled(resources, users), what="every event handled, the failing one retried")
    assert _fallbacks(resources) >= fallbacks_before + 1
    # Nothing of the rolled-back batch stayed: one effect each, and the failing event's is its retry's.
    assert [await effects(resources, user) for user in users] == [1] * len(users)
    assert failures.calls[205] == 3  # in the batch, alone after the rollback, then on its retry
    async with resources.sessionmaker() as session:
        note = (await session.execute(select(Effect.note).where(Effect.user_id == 205))).scalar_one()
    assert note == "attempt 2"  # the batch's failure is not counted against the event: its own is
    # The others ran in the rolled-back batch and once more each (alone), with one committed effect.
    assert all(failures.calls[user] in {1, 2} for user in users if user != 205)


async def test_the_same_event_twice_in_one_batch_has_one_effect(resources, batched):
    payload = await publish_event(resources.settings, registered(300))
    await publish_raw(resources.settings, payload, payload["type"])
    for user in range(301, 306):
        await publish_event(resources.settings, registered(user))

    await batched.start()

    await eventually(lambda: _all_handled(resources, range(300, 306)), what="backlog handled")
    await asyncio.sleep(0.3)
    assert await effects(resources, 300) == 1
    assert failures.calls[300] == 1


async def test_a_lone_event_is_handled_without_waiting_for_a_batch(resources, batched):
    await batched.start()
    await publish_event(resources.settings, registered(400))

    # No timer holds it back: it is handled as soon as it arrives (the eventually's deadline is generous).
    await eventually(lambda: _all_handled(resources, range(400, 401)), timeout=5, what="lone event handled")


async def test_prepare_batch_sees_each_new_event_once_in_the_batch_transaction(resources, batched):
    prepared: list[tuple[int, list[int]]] = []

    async def prepare(session, events) -> None:
        txid = (await session.execute(text("SELECT txid_current()"))).scalar_one()
        prepared.append((txid, sorted(event.user_id for event in events)))

    registrations.prepare_batch = prepare
    try:
        payload = await publish_event(resources.settings, registered(500))
        await publish_raw(resources.settings, payload, payload["type"])  # the same event again
        for user in range(501, 506):
            await publish_event(resources.settings, registered(user))

        await batched.start()
        await eventually(lambda: _all_handled(resources, range(500, 506)), what="backlog handled")
    finally:
        registrations.prepare_batch = None

    # Each new event handled in a batch was prepared once (a lone one is handled without: handlers must not
    # rely on it), in the transaction its handler then ran in; the copy of 500 was not prepared again.
    users = [user for _, batch in prepared for user in batch]
    assert users
    assert len(users) == len(set(users))
    assert set(users) <= set(range(500, 506))
    for txid, batch in prepared:
        assert all(failures.transactions[user] == txid for user in batch)


async def test_an_unbatched_type_is_handled_alone_even_in_a_backlog(resources, batched):
    registrations.unbatched.add(UserRegisteredV1.event_type)
    try:
        users = range(600, 606)
        for user in users:
            await publish_event(resources.settings, registered(user))
        await batched.start()
        await eventually(lambda: _all_handled(resources, users), what="backlog handled")
    finally:
        registrations.unbatched.discard(UserRegisteredV1.event_type)
    assert len({failures.transactions[user] for user in users}) == len(users)  # a transaction each


async def test_a_batch_writes_the_events_its_handlers_publish_in_one_insert_in_their_order(resources, batched):
    """The handlers' events reach the outbox in one INSERT per batch (not one per handler), committed with
    the batch, one row per event handled, in the order the handlers ran (the batch's `partitionkey`
    order); a rolled-back batch leaves none of its rows (its events then publish one by one)."""
    users = range(700, 716)
    failures.remaining[709] = 1  # its first batch rolls back, then every event is handled alone
    inserts: list[int] = []  # the number of rows of each INSERT into the outbox

    def count(_conn, _cursor, statement: str, parameters, _context, executemany: bool) -> None:
        if statement.startswith(f"INSERT INTO {messaging.outbox.fullname} "):
            inserts.append(len(parameters) if executemany else 1)

    sqlalchemy_event.listen(resources.engine.sync_engine, "before_cursor_execute", count)
    try:
        for user in users:
            await publish_event(resources.settings, registered(user))
        await batched.start()
        await eventually(lambda: _all_handled(resources, users), what="backlog handled")
        await asyncio.sleep(0.3)
    finally:
        sqlalchemy_event.remove(resources.engine.sync_engine, "before_cursor_execute", count)

    outbox = messaging.outbox
    async with resources.sessionmaker() as session:
        rows = (
            (
                await session.execute(
                    select(outbox.c.partition_key)
                    .where(outbox.c.partition_key.in_([str(user) for user in users]))
                    .order_by(outbox.c.id)
                )
            )
            .scalars()
            .all()
        )
    assert sorted(rows) == sorted(str(user) for user in users)  # one event each: none of the rolled-back batch
    # Every row written was committed: the batch that failed at 709 had written none of its handlers' rows.
    assert sum(inserts) == len(users)
    assert max(inserts) > 1  # at least one batch wrote its events together...
    assert len(inserts) < len(users)  # ...so fewer INSERTs than events
    # Within each committed transaction the rows follow the handlers' order (ascending partitionkey).
    by_transaction: dict[int, list[str]] = {}
    for key in rows:
        by_transaction.setdefault(failures.transactions[int(key)], []).append(key)
    assert all(keys == sorted(keys) for keys in by_transaction.values())


def test_on_with_batch_false_marks_the_type_unbatched():
    consumer = Consumer("qa", batch_size=8)

    @consumer.on(UserRegisteredV1, batch=False)
    async def handle(ctx, event) -> None: ...

    assert consumer.unbatched == {UserRegisteredV1.event_type}


async def test_deferred_outbox_rows_keep_their_order_and_a_savepoints_rollback_takes_its_own(resources):
    """`defer_outbox_writes` keeps the rows until `write_deferred_outbox`, in publishing order; an event
    published inside a savepoint is written at once, so that rolling the savepoint back removes it."""
    outbox = messaging.outbox
    async with resources.sessionmaker() as session, session.begin():
        messaging.defer_outbox_writes(session)
        await messaging.publish(session, registered(801))
        savepoint = await session.begin_nested()
        await messaging.publish(session, registered(802))
        await savepoint.rollback()
        await messaging.publish(session, registered(803))
        written = (
            await session.execute(select(outbox.c.partition_key).where(outbox.c.partition_key.in_(["801", "803"])))
        ).all()
        assert written == []  # kept until the batch's end
        assert await messaging.write_deferred_outbox(session) == 2
    async with resources.sessionmaker() as session:
        keys = (
            (
                await session.execute(
                    select(outbox.c.partition_key)
                    .where(outbox.c.partition_key.in_(["801", "802", "803"]))
                    .order_by(outbox.c.id)
                )
            )
            .scalars()
            .all()
        )
    assert keys == ["801", "803"]
