"""Advisory locks held until the transaction ends: a second holder of the same lock waits its turn."""

import asyncio

import pytest
from academy_runtime.db import transaction
from academy_runtime.locks import AdvisoryLock, hold_named_lock
from sqlalchemy import event, text

pytestmark = pytest.mark.integration

LEARNERS = AdvisoryLock(space=0x7E57)
OTHERS = AdvisoryLock(space=0x7E58)


async def second_holder_waits(resources, first, second) -> None:
    """`first(session)` takes a lock; `second(session)`, in another transaction, must wait for its commit."""
    order: list[str] = []
    held, released = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with transaction(resources.sessionmaker) as session:
            await first(session)
            order.append("first holds")
            held.set()
            await released.wait()
            order.append("first commits")

    async def waiter() -> None:
        async with transaction(resources.sessionmaker) as session:
            await second(session)
            order.append("second holds")

    holding = asyncio.create_task(holder())
    await held.wait()
    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0.3)
    assert order == ["first holds"]  # still waiting
    released.set()
    await asyncio.gather(holding, waiting)
    assert order == ["first holds", "first commits", "second holds"]


async def neither_waits(resources, first, second) -> None:
    async with transaction(resources.sessionmaker) as one, transaction(resources.sessionmaker) as other:
        await first(one)
        await asyncio.wait_for(second(other), timeout=2)


async def test_the_same_key_waits_for_the_holders_commit(resources):
    await second_holder_waits(resources, lambda s: LEARNERS.hold(s, 42), lambda s: LEARNERS.hold(s, 42))


async def test_another_key_or_another_space_does_not_wait(resources):
    await neither_waits(resources, lambda s: LEARNERS.hold(s, 42), lambda s: LEARNERS.hold(s, 43))
    await neither_waits(resources, lambda s: LEARNERS.hold(s, 42), lambda s: OTHERS.hold(s, 42))


async def hold_then_fail(resources) -> None:
    async with transaction(resources.sessionmaker) as session:
        await LEARNERS.hold(session, 7)
        raise RuntimeError


async def test_a_rollback_releases_the_lock(resources):
    with pytest.raises(RuntimeError):
        await hold_then_fail(resources)
    async with transaction(resources.sessionmaker) as session:
        await asyncio.wait_for(LEARNERS.hold(session, 7), timeout=2)


async def test_named_locks_wait_for_the_same_name_only(resources):
    await second_holder_waits(
        resources, lambda s: hold_named_lock(s, "notify:42:lesson"), lambda s: hold_named_lock(s, "notify:42:lesson")
    )
    await neither_waits(
        resources, lambda s: hold_named_lock(s, "notify:42:lesson"), lambda s: hold_named_lock(s, "notify:43:lesson")
    )


def test_spaces_and_keys_are_32_bit():
    with pytest.raises(ValueError, match="32-bit"):
        AdvisoryLock(space=2**31)


async def test_a_key_beyond_32_bits_is_refused_before_the_database(resources):
    async with transaction(resources.sessionmaker) as session:
        with pytest.raises(ValueError, match="32-bit"):
            await LEARNERS.hold(session, 2**31)


async def test_hold_all_takes_every_key_and_a_second_holder_of_any_of_them_waits(resources):
    await second_holder_waits(
        resources,
        lambda session: LEARNERS.hold_all(session, [30, 10, 20]),
        lambda session: LEARNERS.hold(session, 20),
    )


async def _lock_count(session, space: int) -> int:
    stmt = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid = :space"
    )
    return (await session.execute(stmt, {"space": space})).scalar_one()


async def test_a_key_held_in_the_transaction_costs_no_second_statement_and_a_new_transaction_asks_again(resources):
    statements: list[str] = []

    async with transaction(resources.sessionmaker) as session:
        sync_engine = session.bind.sync_engine if session.bind is not None else None
        assert sync_engine is not None

        def count(conn, cursor, statement, parameters, context, executemany):
            if "pg_advisory_xact_lock" in statement:
                statements.append(statement)

        event.listen(sync_engine, "before_cursor_execute", count)
        try:
            await LEARNERS.hold_all(session, [7, 8])
            await LEARNERS.hold(session, 8)
            await LEARNERS.hold(session, 7)
            await LEARNERS.hold_all(session, [8, 7])
            assert len(statements) == 1
            assert await _lock_count(session, 0x7E57) == 2
        finally:
            event.remove(sync_engine, "before_cursor_execute", count)

    async with transaction(resources.sessionmaker) as session:
        assert await _lock_count(session, 0x7E57) == 0  # released with the commit
        await LEARNERS.hold(session, 8)
        assert await _lock_count(session, 0x7E57) == 1  # a new transaction takes it again


async def test_hold_all_refuses_a_key_outside_int32(resources):
    async with transaction(resources.sessionmaker) as session:
        with pytest.raises(ValueError, match="32-bit"):
            await LEARNERS.hold_all(session, [1, 2**31])
