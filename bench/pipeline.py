"""The pipeline benchmark: LessonCompleted events from progress's outbox to gamification's points ledger.

Subject: the real services, by default as their worker processes (`academy-progress worker`,
`academy-gamification worker`: outbox relay, event consumers and background jobs, one process each,
as deployed), or with `--pipeline-mode inprocess` in this process (`InProcessStack`). A round commits
N `progress.lesson_completed.v1` events to progress's outbox in one transaction (the rows
`Messaging.publish` writes, then its NOTIFY); the clock starts when the commit returns and stops when
gamification's ledger holds N new `lesson_completed` rows, each committed with its inbox row, totals,
streak and achievements in the consumer's transaction.

Baseline: raw aio-pika in this process, the same N message bodies published with confirms (batches
of `outbox_batch_size`, as the relay publishes) to the run's durable topic exchange, routed to a
durable queue of its own and consumed with per-message acks (same prefetch as the services'
consumers), no database; the clock stops at the N-th ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import httpx
from academy_contracts import build_event
from academy_contracts.progress import LessonCompletedV1
from academy_devstack.stack import Process, free_port, venv_script
from academy_gamification.app import service as gamification_service
from academy_gamification.models import PointsLedgerEntry
from academy_progress.app import service as progress_service
from academy_runtime.bus import declare_events_exchange, event_message
from academy_runtime.db import create_engine, create_sessionmaker
from academy_runtime.inprocess import InProcessStack
from academy_runtime.logs import configure_logging
from academy_runtime.migrations import migrate
from academy_runtime.settings import ServiceSettings
from academy_runtime.testing import TestPlatform
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage, AbstractQueue
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.events import body_size
from bench.platform import bench_platform
from bench.report import (
    fmt_ratio,
    loadavg,
    machine,
    process_cpu_seconds,
    ratio,
    render_table,
    say,
    spread,
    throughput_summary,
    write_json,
)

CATEGORIES = ("manicure", "pedicure", "eyelashes", "podology", "eyebrows", "marketing", "business")
COURSES = 210  # 7 categories x 30 courses, as the catalog suite's catalog
LESSON_REASON = "lesson_completed"  # academy_contracts.gamification.PointsReason
BASELINE_ROUTING_KEY = "bench.lesson_completed.v1"  # not the event type: the services' queues never see it
INSERT_CHUNK = 1_000
POLL_S = 0.01
BATCH_TIMEOUT_S = 60.0
# Production settings for what the test platform's environment shortens (a missed NOTIFY is rarer than a
# poll, and nothing here is meant to fail and retry).
MODES = {
    "processes": "academy-gamification worker + academy-progress worker, one process each",
    "inprocess": "InProcessStack([gamification, progress]): both services' relays and consumers in this process",
}
READY_TIMEOUT_S = 60.0
OVERRIDES: dict[str, Any] = {"outbox_poll_interval_s": ServiceSettings.model_fields["outbox_poll_interval_s"].default}


@dataclass
class Options:
    events: int = 1_000
    rounds: int = 5
    warmup_rounds: int = 1
    lessons_per_learner: int = 8
    mode: str = "processes"  # or "inprocess"
    gamification_workers: int = 1  # processes mode: worker processes of gamification sharing its queues


# -- the events --------------------------------------------------------------------------------------


def lesson_events(round_no: int, options: Options) -> list[dict[str, Any]]:
    """N CloudEvents as progress publishes them: learners new to this run each complete the first lessons
    of one course in order; learners interleave, as many learners studying at once would."""
    learners = -(-options.events // options.lessons_per_learner)
    now = datetime.now(UTC)
    bodies = []
    for k in range(options.events):
        learner, step = k % learners, k // learners
        user_id = 1_000_000 * (round_no + 1) + learner + 1
        course_id = learner % COURSES + 1
        data = LessonCompletedV1(
            user_id=user_id,
            course_id=course_id,
            lesson_id=course_id * 100 + step + 1,
            category=CATEGORIES[course_id % len(CATEGORIES)],
            watch_time=600 + (k * 37) % 1200,
            completed_at=now - timedelta(seconds=options.events - k),
            lessons_completed_in_course=step + 1,
            lessons_total=max(options.lessons_per_learner, step + 1),
        )
        event = build_event(data, event_id=str(uuid.uuid4()), time=data.completed_at)
        bodies.append(event.model_dump(mode="json", exclude_none=True))
    return bodies


# -- subject: progress -> relay -> RabbitMQ -> gamification's consumer -> ledger ----------------------


class Probe:
    """Reads both services' tables on an administrative connection of its own, so that watching the
    ledger never waits for, nor takes, a connection of the services' pools."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self._ledger = f'"{gamification_service.messaging.schema}"."{PointsLedgerEntry.__tablename__}"'
        self._outboxes = {
            service.name: f'"{service.messaging.schema}"."{service.messaging.outbox.name}"'
            for service in (gamification_service, progress_service)
        }

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, platform: TestPlatform) -> AsyncIterator[Probe]:
        connection = await asyncpg.connect(platform.admin_dsn())
        try:
            yield cls(connection)
        finally:
            await connection.close()

    async def ledger_mark(self) -> int:
        return int(await self.connection.fetchval(f"SELECT coalesce(max(id), 0) FROM {self._ledger}"))

    async def lesson_rows_since(self, mark: int) -> int:
        return int(
            await self.connection.fetchval(
                f"SELECT count(*) FROM {self._ledger} WHERE id > $1 AND reason = $2", mark, LESSON_REASON
            )
        )

    async def unpublished(self, service: str) -> int:
        """Rows of a service's outbox its relay has not published (confirmed and marked) yet."""
        table = self._outboxes[service]
        return int(await self.connection.fetchval(f"SELECT count(*) FROM {table} WHERE published_at IS NULL"))


def lesson_consumer() -> str:
    return next(c.purpose for c in gamification_service.consumers if LessonCompletedV1.event_type in c.handlers)


def consumer_stats(metrics_text: str) -> dict[str, float]:
    """What gamification's consumer did with lesson events so far, from the runtime's Prometheus metrics."""
    wanted = {"service": "gamification", "consumer": lesson_consumer(), "type": LessonCompletedV1.event_type}
    names = {
        ("academy_events_consumed_total", "handled"): "handled",
        ("academy_events_consumed_total", "duplicate"): "duplicates",
        ("academy_events_consumed_total", "retried"): "retried",
        ("academy_event_handler_duration_seconds_sum", None): "handler_seconds",
        ("academy_event_handler_duration_seconds_count", None): "handler_count",
    }
    stats = dict.fromkeys(names.values(), 0.0)
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if any(sample.labels.get(k) != v for k, v in wanted.items()):
                continue
            key = names.get((sample.name, sample.labels.get("outcome")))
            if key is not None:
                stats[key] += sample.value
    return stats


class InProcessSubject:
    """The services in this process: the CPU is this process's, the metrics its registry's, and the SQL
    statements of the services' engines are counted."""

    def __init__(self, stack: InProcessStack) -> None:
        self.stack = stack
        self.statements = 0
        self.histogram: dict[str, int] = {}
        self._engines = [service.resources.engine.sync_engine for service in stack.services.values()]

    def cpu_seconds(self) -> float:
        return time.process_time()

    async def consumer_stats(self) -> dict[str, float]:
        return consumer_stats(generate_latest(REGISTRY).decode())

    def _count(self, _conn: object, _cursor: object, statement: str, *_: object) -> None:
        self.statements += 1
        if os.environ.get("BENCH_SQL_HISTOGRAM"):
            key = " ".join(statement.split())[:110]
            self.histogram[key] = self.histogram.get(key, 0) + 1

    def count_statements(self, *, on: bool) -> None:
        for engine in self._engines:
            if on:
                event.listen(engine, "after_cursor_execute", self._count)
            elif event.contains(engine, "after_cursor_execute", self._count):
                event.remove(engine, "after_cursor_execute", self._count)


class ProcessSubject:
    """The services' worker processes: the CPU is theirs (from /proc), the metrics their endpoints'."""

    def __init__(self, workers: dict[str, Process], metrics_ports: dict[str, int]) -> None:
        self.workers = workers
        self.metrics_ports = metrics_ports
        self.statements = 0  # not counted across processes

    def cpu_seconds(self) -> float:
        return sum(process_cpu_seconds(w.popen.pid) for w in self.workers.values() if w.popen is not None)

    async def consumer_stats(self) -> dict[str, float]:
        """`consumer_stats` summed over every gamification worker's metrics endpoint."""
        total: dict[str, float] = {}
        async with httpx.AsyncClient(timeout=10) as client:
            for name, port in self.metrics_ports.items():
                if not name.startswith(gamification_service.name):
                    continue
                response = await client.get(f"http://127.0.0.1:{port}/metrics")
                response.raise_for_status()
                for key, value in consumer_stats(response.text).items():
                    total[key] = total.get(key, 0.0) + value
        return total

    def count_statements(self, *, on: bool) -> None:
        pass


Subject = InProcessSubject | ProcessSubject


def worker_env(platform: TestPlatform, schema: str, metrics_port: int) -> dict[str, str]:
    return {
        **os.environ,
        **platform.settings_env(schema),
        **{name.upper(): str(value) for name, value in OVERRIDES.items()},
        "HTTP_HOST": "127.0.0.1",
        "WORKER_METRICS_PORT": str(metrics_port),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


async def wait_consuming(platform: TestPlatform, worker: Process, consumers_wanted: int = 1) -> None:
    """Until gamification's lesson queue has `consumers_wanted` consumers (the worker declared its queues and
    consumes)."""
    queue_name = platform.settings_for(gamification_service).queue_name(lesson_consumer())
    deadline = time.monotonic() + READY_TIMEOUT_S
    connection = await aio_pika.connect(platform.infra.rabbitmq_url)
    try:
        while True:
            if not worker.alive():
                raise RuntimeError(f"{worker.name} worker exited at start-up:\n{worker.tail()}")
            with contextlib.suppress(aio_pika.exceptions.ChannelClosed):
                channel = await connection.channel()
                queue = await channel.declare_queue(queue_name, passive=True)
                consumers = queue.declaration_result.consumer_count
                await channel.close()
                if consumers >= consumers_wanted:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{worker.name} worker not consuming in {READY_TIMEOUT_S:.0f}s:\n{worker.tail()}")
            await asyncio.sleep(0.2)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def subject(platform: TestPlatform, mode: str, gamification_workers: int = 1) -> AsyncIterator[Subject]:
    """The services under test, migrated and running; stopped on exit."""
    # Gamification first: its queues must exist before progress's relay publishes.
    definitions = [gamification_service, progress_service]
    if mode == "inprocess":
        async with InProcessStack(platform, definitions, overrides={d.name: OVERRIDES for d in definitions}) as stack:
            yield InProcessSubject(stack)
        return
    for definition in definitions:
        schema = definition.metadata.schema or definition.name
        await asyncio.to_thread(migrate, definition, "upgrade", "head", database_url=platform.database_url(schema))
    workers: dict[str, Process] = {}
    ports: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="academy-bench-") as log_dir:
        try:
            for definition in definitions:
                copies = gamification_workers if definition is gamification_service else 1
                for copy in range(1, copies + 1):
                    name = definition.name if copy == 1 else f"{definition.name}-{copy}"
                    ports[name] = free_port()
                    env = worker_env(platform, definition.metadata.schema or definition.name, ports[name])
                    command = [venv_script(f"academy-{definition.name.replace('_', '-')}"), "worker"]
                    if profile_dir := os.environ.get("BENCH_PROFILE_DIR"):  # cProfile each worker (a .prof each)
                        command = [sys.executable, "-m", "cProfile", "-o", f"{profile_dir}/{name}.prof", *command]
                    workers[name] = Process(name, command, env, Path(log_dir) / f"{name}-worker.log")
                    workers[name].start()
                    if definition is gamification_service:
                        await wait_consuming(platform, workers[name], consumers_wanted=copy)
            yield ProcessSubject(workers, ports)
        finally:
            await asyncio.gather(*(asyncio.to_thread(w.stop) for w in workers.values()))
            for worker in workers.values():
                if "Traceback" in worker.tail(200):
                    say(f"  the {worker.name} worker's log ends with:\n{worker.tail(15)}")


async def commit_to_outbox(writer: async_sessionmaker[AsyncSession], bodies: list[dict[str, Any]]) -> None:
    """The rows `Messaging.publish` would insert for each event, in one transaction, and its NOTIFY."""
    messaging = progress_service.messaging
    rows = [
        {
            "event_id": uuid.UUID(b["id"]),
            "event_type": b["type"],
            "partition_key": b.get("partitionkey"),
            "payload": b,
        }
        for b in bodies
    ]
    async with writer() as session, session.begin():
        for offset in range(0, len(rows), INSERT_CHUNK):
            await session.execute(insert(messaging.outbox), rows[offset : offset + INSERT_CHUNK])
        await session.execute(text(f"NOTIFY {messaging.channel}"))


async def pipeline_round(
    target: Subject,
    probe: Probe,
    writer: async_sessionmaker[AsyncSession],
    bodies: list[dict[str, Any]],
    timeout_s: float,
) -> dict[str, float]:
    """Seconds from the commit to N new lesson rows in the ledger (and, on the way, to the moment progress's
    relay had published, confirmed and marked them all), with what the consumer did meanwhile."""
    events = len(bodies)
    mark = await probe.ledger_mark()
    stats_before = await target.consumer_stats()
    await commit_to_outbox(writer, bodies)
    target.statements = 0
    target.count_statements(on=True)
    cpu = target.cpu_seconds()
    started = time.perf_counter()
    relayed = 0.0
    try:
        while True:
            now = time.perf_counter() - started
            if not relayed and not await probe.unpublished(progress_service.name):
                relayed = now
            done = await probe.lesson_rows_since(mark)
            if done >= events:
                seconds = time.perf_counter() - started
                cpu = target.cpu_seconds() - cpu
                break
            if now > timeout_s:
                raise TimeoutError(
                    f"the ledger got {done}/{events} lesson rows in {timeout_s:.0f}s (progress's outbox still has "
                    f"{await probe.unpublished(progress_service.name)} unpublished)"
                )
            await asyncio.sleep(POLL_S)
    finally:
        target.count_statements(on=False)
        for statement, count in sorted(getattr(target, "histogram", {}).items(), key=lambda kv: -kv[1]):
            say(f"    {count / events:5.2f}/event  {statement}")
        getattr(target, "histogram", {}).clear()
    after = await target.consumer_stats()
    stats = {k: v - stats_before[k] for k, v in after.items()}
    # Not timed: let gamification's relay publish what the handlers wrote (points awarded, achievements),
    # so that it does not run into the next round.
    quiet_since = time.perf_counter()
    while time.perf_counter() - quiet_since < timeout_s:
        if not await probe.unpublished(gamification_service.name):
            break
        await asyncio.sleep(0.05)
    return {
        "seconds": seconds,
        "relay_seconds": relayed or seconds,
        "cpu_seconds": cpu,
        "sql_statements_per_event": target.statements / events,
        "duplicates": stats["duplicates"],
        "retried": stats["retried"],
        "handler_ms_mean": stats["handler_seconds"] * 1000 / stats["handler_count"] if stats["handler_count"] else 0,
    }


# -- baseline: raw aio-pika ----------------------------------------------------------------------------


class RawPipe:
    """A publisher with confirms and an acking consumer on their own connections, as relay and worker have."""

    def __init__(self, settings: ServiceSettings, queue_name: str, broker_url: str) -> None:
        self.settings = settings
        self.broker_url = broker_url  # the administrator's: the baseline's queue is none of the services' own
        self.queue_name = queue_name
        self.acked = 0
        self._target = 0
        self._done: asyncio.Future[float] | None = None
        self.exchange: AbstractExchange
        self.queue: AbstractQueue

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RawPipe]:
        publisher = await aio_pika.connect(self.broker_url)
        consumer = await aio_pika.connect(self.broker_url)
        try:
            channel = await publisher.channel(publisher_confirms=True)
            self.exchange = await declare_events_exchange(channel, self.settings.events_exchange)
            consuming = await consumer.channel()
            await consuming.set_qos(prefetch_count=self.settings.consumer_prefetch)
            # Declared like the services' queues (academy_runtime.consumer.declare_topology).
            arguments: dict[str, Any] = {"x-queue-type": self.settings.amqp_queue_type}
            if self.settings.queue_expires_ms:
                arguments["x-expires"] = self.settings.queue_expires_ms
            self.queue = await consuming.declare_queue(self.queue_name, durable=True, arguments=arguments)
            await self.queue.bind(self.settings.events_exchange, routing_key=BASELINE_ROUTING_KEY)
            await self.queue.consume(self._on_message)
            yield self
        finally:
            for connection in (consumer, publisher):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.close(), timeout=5)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        await message.ack()
        self.acked += 1
        if self._done is not None and self.acked >= self._target and not self._done.done():
            self._done.set_result(time.perf_counter())

    async def round(self, bodies: list[dict[str, Any]], timeout_s: float) -> dict[str, float]:
        """Seconds from the first publish until the consumer has acked every message."""
        self._target = self.acked + len(bodies)
        self._done = asyncio.get_running_loop().create_future()
        batch = self.settings.outbox_batch_size
        cpu = time.process_time()
        started = time.perf_counter()
        for offset in range(0, len(bodies), batch):
            await asyncio.wait_for(
                asyncio.gather(
                    *(
                        self.exchange.publish(event_message(b), routing_key=BASELINE_ROUTING_KEY)
                        for b in bodies[offset : offset + batch]
                    )
                ),
                timeout=BATCH_TIMEOUT_S,
            )
        finished = await asyncio.wait_for(self._done, timeout_s)
        return {"seconds": finished - started, "cpu_seconds": time.process_time() - cpu}


# -- the run -------------------------------------------------------------------------------------------


async def measure(
    platform: TestPlatform, options: Options, baseline_queue: str
) -> tuple[dict[str, list[dict[str, float]]], dict[str, str]]:
    out: dict[str, list[dict[str, float]]] = {"baseline": [], "pipeline": []}
    timeout = max(120.0, options.events / 10)
    settings = platform.settings_for(progress_service, **OVERRIDES)
    info = {"batch_size": str(settings.outbox_batch_size), "prefetch": str(settings.consumer_prefetch)}
    # The bench's own connection as progress's role: the backlog is committed the way progress commits.
    engine = create_engine(platform.database_url("progress"), app_name="bench-writer")
    try:
        async with (
            subject(platform, options.mode, options.gamification_workers) as target,
            Probe.open(platform) as probe,
            RawPipe(settings, baseline_queue, platform.infra.rabbitmq_url).running() as raw,
        ):
            info["postgresql"] = str(await probe.connection.fetchval("SHOW server_version"))
            writer = create_sessionmaker(engine)
            total = options.warmup_rounds + options.rounds
            for round_no in range(1, total + 1):
                warmup = round_no <= options.warmup_rounds
                bodies = lesson_events(round_no, options)
                # Counted rounds alternate which side goes first, so a drift in the machine's load does not
                # always favour the same side.
                first_baseline = warmup or (round_no - options.warmup_rounds) % 2 == 1
                for side in ("baseline", "pipeline") if first_baseline else ("pipeline", "baseline"):
                    if side == "baseline":
                        result = await raw.round(bodies, timeout)
                        extra = ""
                    else:
                        result = await pipeline_round(target, probe, writer, bodies, timeout)
                        statements = result["sql_statements_per_event"]
                        extra = (
                            f" (progress relay done at {result['relay_seconds']:.2f}s; handler mean "
                            f"{result['handler_ms_mean']:.0f} ms; {result['duplicates']:.0f} duplicates"
                            + (f"; {statements:.0f} SQL statements/event)" if statements else ")")
                        )
                    label = "warm-up" if warmup else f"{round_no - options.warmup_rounds}/{options.rounds}"
                    say(
                        f"  round {label}: {side:8s} {options.events / result['seconds']:8,.0f} events/s, "
                        f"{result['cpu_seconds'] * 1000 / options.events:5.2f} ms CPU/event{extra}"
                    )
                    if not warmup:
                        out[side].append(result)
    finally:
        await engine.dispose()
    return out, info


async def run(options: Options) -> dict[str, Any]:
    started_at = datetime.now(UTC)
    load_start = loadavg()
    wall = time.perf_counter()
    definitions = [gamification_service, progress_service]
    # The services' warnings (a relay retrying, a handler failing) with their details, as their workers log them.
    configure_logging("bench-pipeline", "WARNING")
    # The baseline queue's name is fixed before the platform exists, so that its clean-up knows it.
    queue_suffix = "bench.lesson-completed"
    async with bench_platform("pipeline", definitions, extra_queue_suffixes=(queue_suffix,)) as platform:
        rounds, info = await measure(platform, options, f"{platform.run_id}.{queue_suffix}")
    sample = lesson_events(0, options)[0]
    results: dict[str, Any] = {
        "benchmark": "pipeline",
        "started_at": started_at.isoformat(),
        "run_id": platform.run_id,
        "wall_seconds": round(time.perf_counter() - wall, 1),
        "machine": {**machine(), "loadavg_start": load_start, "loadavg_end": loadavg()},
        "config": {
            **asdict(options),
            **info,
            "message_body_bytes": body_size(sample),
            "mode": MODES[options.mode]
            if options.gamification_workers == 1
            else MODES[options.mode].replace(
                "academy-gamification worker", f"{options.gamification_workers} academy-gamification workers"
            ),
        },
    }
    for side, side_rounds in rounds.items():
        results[side] = {
            "throughput": throughput_summary(options.events, [r["seconds"] for r in side_rounds]),
            "cpu_ms_per_event": [r["cpu_seconds"] * 1000 / options.events for r in side_rounds],
            "rounds": side_rounds,
        }
    base, pipe = results["baseline"]["throughput"], results["pipeline"]["throughput"]
    results["ratios"] = {
        "events_per_s": ratio(pipe["median"], base["median"]),
        # Each pipeline round against the baseline round next to it (the order alternates).
        "events_per_s_paired": [ratio(p, b) for p, b in zip(pipe["events_per_s"], base["events_per_s"], strict=True)],
        "cpu_per_event": ratio(
            statistics.median(results["pipeline"]["cpu_ms_per_event"]),
            statistics.median(results["baseline"]["cpu_ms_per_event"]),
        ),
    }
    path = write_json(results, started_at, "pipeline")
    print_report(results, path)
    return results


def print_report(results: dict[str, Any], path: Path) -> None:
    m, cfg, ratios = results["machine"], results["config"], results["ratios"]
    base, pipe = results["baseline"], results["pipeline"]
    print()
    print(
        f"LessonCompleted: progress outbox -> gamification ledger vs raw aio-pika - {m['nproc']} CPU(s) "
        f"({m['cpu_model'] or 'unknown CPU'}), PostgreSQL {cfg.get('postgresql', '?')}, Python {m['python']}; "
        f"load avg {m['loadavg_start']} -> {m['loadavg_end']}"
    )
    print(
        f"{cfg['rounds']} rounds x N={cfg['events']} events per side after {cfg['warmup_rounds']} warm-up round(s); "
        f"{cfg['message_body_bytes']} B CloudEvents; {cfg['lessons_per_learner']} lessons per learner; relay batch "
        f"{cfg['batch_size']}, prefetch {cfg['prefetch']}; services: {cfg['mode']}"
    )
    print()
    cpu_base, cpu_pipe = (statistics.median(s["cpu_ms_per_event"]) for s in (base, pipe))
    rows = [
        (
            "events/s, median of rounds",
            f"{base['throughput']['median']:,.0f}",
            f"{pipe['throughput']['median']:,.0f}",
            fmt_ratio(ratios["events_per_s"]),
        ),
        (
            "events/s, slowest round",
            f"{base['throughput']['min']:,.0f}",
            f"{pipe['throughput']['min']:,.0f}",
            fmt_ratio(ratio(pipe["throughput"]["min"], base["throughput"]["min"])),
        ),
        (
            "CPU per event (median)",
            f"{cpu_base:.2f} ms",
            f"{cpu_pipe:.2f} ms",
            fmt_ratio(ratios["cpu_per_event"]),
        ),
    ]
    print(render_table(("metric", "raw aio-pika", "pipeline", "pipeline/raw"), rows))
    print()
    print(f"events/s pipeline/raw per round: {spread(ratios['events_per_s_paired'])}")
    shares = [r["relay_seconds"] / r["seconds"] for r in pipe["rounds"]]
    handler = [r["handler_ms_mean"] for r in pipe["rounds"]]
    duplicates = [r["duplicates"] for r in pipe["rounds"]]
    statements = statistics.median(r["sql_statements_per_event"] for r in pipe["rounds"])
    counted = f"; the services sent {statements:.0f} SQL statements per event" if statements else ""
    print(
        f"progress's relay had all N confirmed at {statistics.median(shares):.0%} of the round (median); "
        f"gamification's handler took {statistics.median(handler):.0f} ms on average ({cfg['prefetch']} in "
        f"flight){counted}; CPU per event is the services' ({cfg['mode']}) and this process's for the baseline"
    )
    print(
        "duplicate deliveries per round (re-published after a relay confirm timeout, absorbed by the inbox): "
        + ", ".join(f"{d:.0f}" for d in duplicates)
    )
    print(
        "Read the ratios: both sides ran in this run, in alternating rounds, on the same broker; the pipeline "
        "side also writes and reads PostgreSQL for every event (relay claim/mark, inbox, ledger, totals)."
    )
    print(f"results: {path}")
