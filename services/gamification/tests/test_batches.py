"""A backlog of progress events handled in batches (`learning_progress`, 16 events per transaction) keeps every
guarantee of one event per transaction: one effect per fact, totals the sums of the ledger, achievements once,
each learner's v2 events one chain without gaps, an erased learner never written again, and two workers on
one queue never deadlock (no batch rolled back).

Each test queues its backlog before the consumers start, so that it is read in full batches.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import pytest
from academy_contracts.progress import LessonCompletedV1
from academy_contracts.users import UserErasedV2
from academy_gamification.activity.consumers import learning_progress
from academy_gamification.learners.consumers import learner_profiles
from academy_gamification.models import LessonCompletion, PointsLedgerEntry, messaging
from academy_gamification.points.consumers import welcome_points
from academy_runtime import metrics
from academy_runtime.after_commit import wait_for_after_commit_jobs
from academy_runtime.consumer import REASON_HEADER, ConsumerRuntime, declare_consumer_queues
from academy_runtime.resources import Resources
from academy_runtime.testing import ProducerBus
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func, select, text

from .conftest import Driver

pytestmark = pytest.mark.integration

PROGRESS, PROFILES = "learning-progress", "learner-profiles"
CONSUMERS = [welcome_points, learner_profiles, learning_progress]
POINTS_V1 = "gamification.points_awarded.v1"
POINTS_V2 = "gamification.points_awarded.v2"
UNLOCKED_V2 = "gamification.achievement_unlocked.v2"
DAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _purge(resources: Resources) -> None:
    """Empty every queue of the service's consumers (main, retries, dead letters): the session shares them."""
    settings = resources.settings
    connection = await aio_pika.connect(settings.rabbitmq_url)
    try:
        channel = await connection.channel()
        for consumer in CONSUMERS:
            main = settings.queue_name(consumer.purpose)
            retries = [f"{main}.retry.{ms}" for ms in settings.consumer_retry_delays_ms]
            for name in (main, f"{main}.dlq", *retries):
                await (await channel.declare_queue(name, passive=True)).purge()
    finally:
        await connection.close()


class Backlog(Driver):
    """A driver whose consumers start only when the test says so (`start`), as many runtimes as it asks for."""

    def __init__(self, resources: Resources, exchange: ProducerBus) -> None:
        super().__init__(resources, exchange)
        self.runtimes: list[ConsumerRuntime] = []

    async def start(self, workers: int = 1) -> None:
        for _ in range(workers):
            runtime = ConsumerRuntime(self.resources, messaging, CONSUMERS)
            self.runtimes.append(runtime)
        await asyncio.gather(*(runtime.start() for runtime in self.runtimes))

    async def dead_letters(self, purpose: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
        """Take every message out of the consumer's dead-letter queue."""
        connection = await aio_pika.connect(self.resources.settings.rabbitmq_url)
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue(f"{self.resources.settings.queue_name(purpose)}.dlq", passive=True)
            letters = []
            while (message := await queue.get(fail=False, no_ack=True)) is not None:
                letters.append(message)
            return letters
        finally:
            await connection.close()


@pytest.fixture
async def backlog(resources: Resources, platform: Any) -> AsyncIterator[Backlog]:
    await declare_consumer_queues(resources.settings, CONSUMERS)
    await _purge(resources)
    producers = ProducerBus(platform)
    driver = Backlog(resources, producers)
    try:
        yield driver
    finally:
        await producers.close()
        for runtime in driver.runtimes:
            await runtime.stop()
        await wait_for_after_commit_jobs()
        await _purge(resources)


def _fallbacks(resources: Resources) -> float:
    child = metrics.CONSUMER_BATCH_FALLBACKS.labels(resources.settings.service_name, PROGRESS)
    return float(child._value.get())


def lesson(user_id: int, lesson_id: int, *, at: datetime = DAY, category: str = "manicure") -> LessonCompletedV1:
    return Driver.lesson(user_id, lesson_id, course_id=lesson_id // 100, category=category, at=at)


async def _invariants(driver: Driver) -> None:
    """Every learner's totals, counts and category scores are what their facts and ledger say."""
    async with driver.resources.sessionmaker() as session:
        wrong = (
            await session.execute(
                text(
                    "SELECT s.user_id FROM gamification.learner_scores s"
                    " WHERE s.total_points <> (SELECT coalesce(sum(points), 0) FROM gamification.points_ledger l"
                    "   WHERE l.user_id = s.user_id)"
                    " OR s.lessons_completed <> (SELECT count(*) FROM gamification.lesson_completions c"
                    "   WHERE c.user_id = s.user_id)"
                    " OR s.courses_completed <> (SELECT count(*) FROM gamification.course_completions c"
                    "   WHERE c.user_id = s.user_id)"
                    " UNION ALL SELECT c.user_id FROM gamification.learner_category_scores c"
                    " WHERE c.points <> (SELECT coalesce(sum(points), 0) FROM gamification.points_ledger l"
                    "   WHERE l.user_id = c.user_id AND l.category = c.category)"
                )
            )
        ).all()
        # a level is the highest one the total reaches
        wrong_levels = (
            await session.execute(
                text(
                    "SELECT s.user_id FROM gamification.learner_scores s WHERE s.level <>"
                    " (SELECT max(level) FROM gamification.levels WHERE min_points <= s.total_points)"
                )
            )
        ).all()
    assert wrong == []
    assert wrong_levels == []


async def _v2_chains(driver: Driver) -> dict[int, list[dict[str, Any]]]:
    async with driver.resources.sessionmaker() as session:
        rows = await session.execute(
            select(messaging.outbox.c.payload)
            .where(messaging.outbox.c.event_type.in_([POINTS_V2, UNLOCKED_V2]))
            .order_by(messaging.outbox.c.id)
        )
        chains: dict[int, list[dict[str, Any]]] = {}
        for payload in rows.scalars():
            chains.setdefault(payload["data"]["user_id"], []).append(payload)
    return chains


def _assert_whole_chain(chain: list[dict[str, Any]]) -> None:
    """One chain in the order of the outbox: the first follows nothing, each next follows the one before."""
    assert chain[0]["data"].get("follows_event_id") is None
    assert [event["data"]["follows_event_id"] for event in chain[1:]] == [event["id"] for event in chain[:-1]]


async def _wait(read: Callable[[], Awaitable[int]], count: int, timeout: float = 60) -> None:
    await Driver.eventually(read, lambda n: n >= count, timeout=timeout)
    await asyncio.sleep(0.3)
    await wait_for_after_commit_jobs()


async def test_a_backlog_of_eight_lessons_for_twenty_learners_keeps_every_chain_whole(backlog):
    learners = range(1001, 1021)
    for number in range(8):  # interleaved: every batch mixes learners
        for user in learners:
            await backlog.publish(lesson(user, 100 + number, at=DAY + timedelta(days=number % 3)))
    fallbacks = _fallbacks(backlog.resources)

    await backlog.start()
    await _wait(lambda: backlog.handled_count(PROGRESS), 160)

    assert await backlog.handled_count(PROGRESS) == 160
    assert _fallbacks(backlog.resources) == fallbacks  # no batch was rolled back
    async with backlog.resources.sessionmaker() as session:
        transactions = (
            await session.execute(text("SELECT count(DISTINCT xmin::text) FROM gamification.lesson_completions"))
        ).scalar_one()
    assert transactions <= 160 // 4  # handled in shared transactions, not one per event
    await _invariants(backlog)
    chains = await _v2_chains(backlog)
    for user in learners:
        state = await backlog.state(user)
        assert state["lessons_completed"] == 8
        assert [kind for kind, _, _ in state["awards"]].count("lesson") == 8
        assert state["achievements"] == ["first_lesson", "streak_3_days"]  # each once
        assert state["streak"] == (3, 3)
        chain = chains[user]
        # 8 lessons, 2 achievements with their points
        assert len(chain) == 8 + 2 * 2
        _assert_whole_chain(chain)
    # v1 of every award too, once each
    assert len(await backlog.outbox(POINTS_V1)) == 20 * (8 + 2)


async def test_a_batch_records_its_lessons_in_one_statement_and_a_fact_twice_once(backlog):
    """A batch's completed lessons are one INSERT (`ActivityRepository.add_lesson_completions`), not one per
    event, and each award reads the learner's facts in its own round trip (`AWARD_READING_FACTS`), not in
    a SELECT of its own; a lesson completed twice under two event ids (progress re-sent it) counts once."""
    for user in range(7001, 7016):
        await backlog.publish(lesson(user, 701))
    await backlog.publish(lesson(7001, 701, at=DAY + timedelta(hours=1)))  # the same fact, another event id
    inserts: list[str] = []

    facts_reads: list[str] = []

    def count(_conn, _cursor, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO gamification.lesson_completions "):
            inserts.append(statement)
        if statement.startswith("SELECT (SELECT gamification.streaks.current_days"):
            facts_reads.append(statement)  # ActivityRepository.learner_facts

    engine = backlog.resources.engine.sync_engine
    sqlalchemy_event.listen(engine, "before_cursor_execute", count)
    try:
        await backlog.start()
        await _wait(lambda: backlog.handled_count(PROGRESS), 16)
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", count)

    assert await backlog.handled_count(PROGRESS) == 16
    assert len(inserts) <= 4  # a statement per batch (the 16 may be read in two), not one per event
    assert facts_reads == []
    state = await backlog.state(7001)
    assert state["lessons_completed"] == 1
    assert [kind for kind, _, _ in state["awards"]].count("lesson") == 1
    await _invariants(backlog)


async def test_two_workers_on_one_queue_with_interleaved_learners_never_deadlock(backlog):
    learners = range(2001, 2031)
    for number in range(6):
        for user in learners:
            await backlog.publish(lesson(user, 200 + number))
    fallbacks = _fallbacks(backlog.resources)

    await backlog.start(workers=2)
    await _wait(lambda: backlog.handled_count(PROGRESS), 180)

    assert await backlog.handled_count(PROGRESS) == 180
    # A deadlock between the two workers' batches would have rolled one back (PostgreSQL aborts one side).
    assert _fallbacks(backlog.resources) == fallbacks
    await _invariants(backlog)
    chains = await _v2_chains(backlog)
    for user in learners:
        assert (await backlog.state(user))["lessons_completed"] == 6
        _assert_whole_chain(chains[user])


async def test_an_event_twice_and_an_id_reused_in_one_batch(backlog):
    twice = await backlog.publish(lesson(3001, 301))
    await backlog.publish(lesson(3001, 301), event_id=twice)  # a redelivery: the same event
    reused = await backlog.publish(lesson(3002, 302))
    await backlog.publish(lesson(3002, 399), event_id=reused)  # the same id with other content
    for user in range(3003, 3010):
        await backlog.publish(lesson(user, 303))

    await backlog.start()
    await _wait(lambda: backlog.handled_count(PROGRESS), 9)

    assert await backlog.handled_count(PROGRESS) == 9
    assert (await backlog.state(3001))["lessons_completed"] == 1
    async with backlog.resources.sessionmaker() as session:
        lessons = (
            await session.execute(select(LessonCompletion.lesson_id).where(LessonCompletion.user_id == 3002))
        ).scalars()
        assert list(lessons) == [302]  # the first content; the other is refused
    letters = await backlog.dead_letters(PROGRESS)
    assert [(letter.headers or {}).get(REASON_HEADER) for letter in letters] == ["event_id_reused"]
    await _invariants(backlog)
    assert len(await backlog.outbox(POINTS_V1, 3001)) == 2  # the lesson and first_lesson's points, once


async def test_a_handler_failing_mid_batch_leaves_nothing_behind_and_is_retried_alone(backlog):
    handler_type = LessonCompletedV1.event_type
    real = learning_progress.handlers[handler_type]
    failures = {"left": 2}  # fails in the batch (after its writes) and alone, then succeeds on its retry

    async def fail_after_writing(ctx: Any, event: LessonCompletedV1) -> None:
        await real(ctx, event)
        if event.user_id == 4008 and failures["left"] > 0:
            failures["left"] -= 1
            raise RuntimeError("the handler fails after its writes")

    learning_progress.handlers[handler_type] = fail_after_writing
    try:
        for user in range(4001, 4017):
            await backlog.publish(lesson(user, 401))
        fallbacks = _fallbacks(backlog.resources)

        await backlog.start()
        await _wait(lambda: backlog.handled_count(PROGRESS), 16, timeout=30)
    finally:
        learning_progress.handlers[handler_type] = real

    assert _fallbacks(backlog.resources) == fallbacks + 1
    assert failures["left"] == 0
    await _invariants(backlog)
    for user in range(4001, 4017):
        # The rolled-back batch left none of its effects: one award of each, one v1 and one chain each.
        state = await backlog.state(user)
        assert (state["lessons_completed"], sorted(kind for kind, _, _ in state["awards"])) == (
            1,
            ["achievement", "lesson"],
        )
        assert state["achievements"] == ["first_lesson"]
        assert len(await backlog.outbox(POINTS_V1, user)) == 2
    chains = await _v2_chains(backlog)
    for user in range(4001, 4017):
        assert len(chains[user]) == 3
        _assert_whole_chain(chains[user])
    async with backlog.resources.sessionmaker() as session:
        ledger = (await session.execute(select(func.count()).select_from(PointsLedgerEntry))).scalar_one()
    assert ledger == 16 * 2


async def test_a_learner_id_beyond_int32_does_not_hold_back_its_batch(backlog):
    """The contracts allow any positive id; the learners' lock (and the tables) take int32: the event fails
    alone (retried, then dead-lettered) and the others of its batch are handled."""
    for user in range(5001, 5009):
        await backlog.publish(lesson(user, 501))
    await backlog.publish(lesson(2**31, 501))
    for user in range(5009, 5016):
        await backlog.publish(lesson(user, 501))
    fallbacks = _fallbacks(backlog.resources)

    await backlog.start()
    await _wait(lambda: backlog.handled_count(PROGRESS), 15, timeout=30)

    assert await backlog.handled_count(PROGRESS) == 15
    assert _fallbacks(backlog.resources) >= fallbacks + 1
    await _invariants(backlog)
    for user in range(5001, 5016):
        assert (await backlog.state(user))["lessons_completed"] == 1
    async with backlog.resources.sessionmaker() as session:
        inbox = messaging.inbox
        ids = (await session.execute(select(inbox.c.event_id).where(inbox.c.consumer == PROGRESS))).scalars()
        assert len(set(ids)) == 15  # the poison event is not recorded as handled


async def test_an_erasure_racing_a_batch_of_the_learners_lessons_leaves_nothing(backlog):
    erased = [6001, 6002, 6003]
    for number in range(8):
        for user in [*erased, 6100]:
            await backlog.publish(lesson(user, 600 + number, at=DAY + timedelta(days=number)))
        if number == 3:  # half of the lessons before the erasure, half after
            for user in erased:
                await backlog.publish(UserErasedV2(user_id=user, erased_at=datetime.now(UTC)))

    await backlog.start()
    await _wait(lambda: backlog.handled_count(PROFILES), 3)
    await _wait(lambda: backlog.handled_count(PROGRESS), 32)

    for user in erased:
        assert await backlog.state(user) == {
            "total_points": 0,
            "level": None,
            "lessons_completed": 0,
            "courses_completed": 0,
            "awards": [],
            "achievements": [],
            "streak": None,
        }
    assert (await backlog.state(6100))["lessons_completed"] == 8
    await _invariants(backlog)
