"""A handler's turn (`Consumer.on(..., turn=...)`): what an event waits for before it is handled is waited
for before its transaction, holding no connection, and is woken when the consumer is done with another event
of the same learner.

Issue 11: the gateway's notifications waited for their turn inside the event's transaction, so waiting
handlers held the pool's connections and the consumer's places, and the events they waited for queued
behind them."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from academy_contracts.users import UserRegisteredV1
from academy_runtime.consumer import CommitSignals, Consumer, ConsumerRuntime, TurnContext
from academy_runtime.resources import Resources
from sqlalchemy import func, select, text

from .conftest import Effect, effects, failures, messaging, purge_registrations, registrations
from .helpers import eventually, publish_event, registered

pytestmark = pytest.mark.integration

Plan = Callable[[TurnContext, Any], Awaitable[None]]


class Turns:
    """The `registrations` consumer's turn for the test: a plan per user id (none: its turn at once)."""

    def __init__(self) -> None:
        self.plans: dict[int, Plan] = {}
        self.attempts: list[tuple[int, int]] = []

    async def __call__(self, ctx: TurnContext, event: UserRegisteredV1) -> None:
        self.attempts.append((event.user_id, ctx.attempt))
        plan = self.plans.get(event.user_id)
        if plan is not None:
            await plan(ctx, event)


@pytest.fixture
async def turns(runtime: ConsumerRuntime) -> AsyncIterator[Turns]:
    kind = UserRegisteredV1.event_type
    turns = Turns()
    registrations.turns[kind] = turns
    registrations.unbatched.add(kind)
    yield turns
    registrations.turns.pop(kind, None)
    registrations.unbatched.discard(kind)


async def _open_transactions(resources: Resources) -> int:
    """Sessions of the test database, other than this one, inside a transaction (idle in it or not)."""
    async with resources.sessionmaker() as session:
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        )
        return int((await session.execute(query)).scalar_one())


async def _in_inbox(resources: Resources, event_id: str) -> bool:
    async with resources.sessionmaker() as session:
        query = select(func.count()).select_from(messaging.inbox).where(messaging.inbox.c.event_id == event_id)
        return bool((await session.execute(query)).scalar_one())


async def test_a_turn_waits_before_the_events_transaction_and_blocks_no_other_learner(resources, turns):
    waiting, release = asyncio.Event(), asyncio.Event()

    async def hold(ctx: TurnContext, event: UserRegisteredV1) -> None:
        waiting.set()
        await release.wait()

    turns.plans[8801] = hold
    payload = await publish_event(resources.settings, registered(8801))
    await asyncio.wait_for(waiting.wait(), timeout=15)

    # While it waits, nothing of the event is begun: no transaction open, no inbox row, no effect.
    assert await _open_transactions(resources) == 0
    assert not await _in_inbox(resources, payload["id"])
    assert await effects(resources, 8801) == 0
    # Another learner's event is handled meanwhile.
    await publish_event(resources.settings, registered(8802))
    await eventually(lambda: _effects_are(resources, 8802, 1), what="the other learner's event handled")

    release.set()
    await eventually(lambda: _effects_are(resources, 8801, 1), what="the waiting event handled once its turn came")
    assert await _in_inbox(resources, payload["id"])


async def test_a_turn_is_woken_when_the_consumer_is_done_with_another_event_of_the_learner(resources, turns):
    waiting, woken = asyncio.Event(), asyncio.Event()

    async def wait_for_the_next(ctx: TurnContext, event: UserRegisteredV1) -> None:
        if waiting.is_set():
            return  # the second event of the learner: its turn at once
        changed = ctx.next_commit()
        waiting.set()
        await changed.wait()  # no timeout: only the consumer being done with the other event ends it
        woken.set()

    turns.plans[8803] = wait_for_the_next
    await publish_event(resources.settings, registered(8803))
    await asyncio.wait_for(waiting.wait(), timeout=15)
    await publish_event(resources.settings, registered(8804))  # another learner: wakes nothing
    await eventually(lambda: _effects_are(resources, 8804, 1), what="the other learner's event handled")
    assert not woken.is_set()

    await publish_event(resources.settings, registered(8803))  # the same learner's next event

    await asyncio.wait_for(woken.wait(), timeout=15)
    await eventually(lambda: _effects_are(resources, 8803, 2), what="both events of the learner handled")


async def test_a_turn_that_raises_sends_the_event_to_the_retry_queues(resources, turns):
    async def not_yet(ctx: TurnContext, event: UserRegisteredV1) -> None:
        if ctx.attempt == 1:
            raise RuntimeError("what this event follows has not been handled yet")

    turns.plans[8805] = not_yet
    await publish_event(resources.settings, registered(8805))

    await eventually(lambda: _effects_are(resources, 8805, 1), what="the event handled on its retry")
    assert [attempt for user, attempt in turns.attempts if user == 8805] == [1, 2]
    async with resources.sessionmaker() as session:
        note = (await session.execute(select(Effect.note).where(Effect.user_id == 8805))).scalar_one()
    assert note == "attempt 2"


async def test_a_turn_knows_without_the_database_which_events_this_process_committed(resources, turns):
    """`TurnContext.handled_here`: true for an event the consumer committed in this process, already when
    the turn it wakes looks; false for one whose handler failed (rolled back) and for one never seen."""
    first = await publish_event(resources.settings, registered(8806))
    await eventually(lambda: _effects_are(resources, 8806, 1), what="the first event handled")
    failures.remaining[8807] = -1  # this learner's handler always fails: never committed
    failed = await publish_event(resources.settings, registered(8807))
    await eventually(lambda: _called(8807, 2), what="the failing event tried twice")
    seen: dict[str, bool] = {}

    async def look(ctx: TurnContext, event: UserRegisteredV1) -> None:
        seen.update({name: ctx.handled_here(event_id) for name, event_id in looks.items()})

    looks = {"committed": first["id"], "failed": failed["id"], "unknown": "never-published"}
    turns.plans[8806] = look
    await publish_event(resources.settings, registered(8806))
    await eventually(lambda: _effects_are(resources, 8806, 2), what="the second event handled")

    assert seen == {"committed": True, "failed": False, "unknown": False}


async def test_the_events_a_process_remembers_as_committed_are_bounded():
    signals = CommitSignals(remembered=3)
    for number in range(5):
        signals.committed("notifications", f"event-{number}")
    assert [signals.handled_here("notifications", f"event-{n}") for n in range(5)] == [False, False, True, True, True]
    assert not signals.handled_here("other-consumer", "event-4")  # per consumer


async def _called(user_id: int, times: int) -> bool:
    return failures.calls.get(user_id, 0) >= times


async def _effects_are(resources: Resources, user_id: int, count: int) -> bool:
    return await effects(resources, user_id) == count


async def test_a_consumer_takes_as_many_deliveries_at_once_as_its_own_prefetch(resources):
    """`Consumer(..., prefetch=N)`: N events in its hands at once, whatever `consumer_prefetch` says (the
    gateway's notifications take more, since their turns hold no connection)."""
    kind = UserRegisteredV1.event_type
    entered: list[int] = []
    release = asyncio.Event()

    async def hold(ctx: TurnContext, event: UserRegisteredV1) -> None:
        entered.append(event.user_id)
        await release.wait()

    registrations.turns[kind], registrations.prefetch = hold, 3
    registrations.unbatched.add(kind)
    consumer_runtime = ConsumerRuntime(resources, messaging, [registrations])
    try:
        await consumer_runtime.start()
        users = range(8806, 8811)
        for user in users:
            await publish_event(resources.settings, registered(user))
        await eventually(lambda: _at_least(entered, 3), what="three deliveries in the consumer's hands")
        await asyncio.sleep(0.5)  # a fourth would have come by now
        assert len(entered) == 3 < resources.settings.consumer_prefetch

        release.set()
        for user in users:
            await eventually(lambda user=user: _effects_are(resources, user, 1), what=f"event of {user} handled")
    finally:
        release.set()
        registrations.turns.pop(kind, None)
        registrations.unbatched.discard(kind)
        registrations.prefetch = None
        await consumer_runtime.stop()
        await purge_registrations(resources.settings)


async def _at_least(items: list[int], count: int) -> bool:
    return len(items) >= count


def test_a_prefetch_below_one_is_refused():
    with pytest.raises(ValueError, match="prefetch is at least 1"):
        Consumer("nothing", prefetch=0)
