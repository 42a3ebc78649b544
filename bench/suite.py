"""The outbox benchmark: raw confirmed publishing (baseline) against the outbox relay, in one run.

Latency samples alternate baseline / relay, and the throughput rounds alternate too, so whatever
noise the machine makes lands on both sides alike.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import statistics
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from bench import baseline, relay
from bench.env import BenchEnv
from bench.events import Receiver, body_size, payload
from bench.report import (
    RESULTS_DIR,
    latency_summary,
    loadavg,
    machine,
    say,
    table,
    throughput_summary,
    write_json,
)

# A latency sample slower than this was not woken by the NOTIFY but by the relay's safety-net poll.
POLL_WAKEUP_S = 0.5


@dataclass
class Options:
    events: int = 5_000
    samples: int = 300
    warmup: int = 20
    spacing_ms: float = 20.0
    rounds: int = 5
    warmup_rounds: int = 1
    batch_size: int | None = None
    profile: bool = False


async def measure_latency(env: BenchEnv, options: Options) -> dict[str, list[float]]:
    spacing = options.spacing_ms / 1000
    out: dict[str, list[float]] = {"confirm": [], "delivery": [], "commit_to_receive": [], "writer_tx": []}
    receiver = Receiver(env.queue)
    await receiver.start()
    try:
        # Default poll interval: only the NOTIFY sent at commit wakes the relay this fast.
        async with relay.running_relay(env):
            await asyncio.sleep(0.5)  # it connects, listens, finds nothing and goes to sleep
            total = options.warmup + options.samples
            for i in range(total):
                confirm, delivery = await baseline.latency_sample(env, receiver, i + 1)
                await asyncio.sleep(spacing)
                commit_to_receive, writer_tx = await relay.latency_sample(env, receiver, i + 1)
                await asyncio.sleep(spacing)
                if i >= options.warmup:
                    out["confirm"].append(confirm)
                    out["delivery"].append(delivery)
                    out["commit_to_receive"].append(commit_to_receive)
                    out["writer_tx"].append(writer_tx)
                if (i + 1) % 100 == 0 or i + 1 == total:
                    say(f"  latency: {i + 1}/{total} pairs (first {options.warmup} are warm-up)")
    finally:
        await receiver.stop()
    await env.queue.purge()
    return out


async def queued_messages(env: BenchEnv) -> int:
    declared = await env.channel.declare_queue(env.queue_name, passive=True)
    return int(declared.declaration_result.message_count or 0)


async def measure_throughput(env: BenchEnv, options: Options) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"baseline": [], "relay": []}
    timeout = max(60.0, options.events / 50)
    await env.queue.purge()
    total = options.warmup_rounds + options.rounds
    for round_no in range(1, total + 1):
        warmup = round_no <= options.warmup_rounds
        for side in ("baseline", "relay"):
            if side == "baseline":
                seconds = await baseline.throughput(env, options.events)
            else:
                seconds = await relay.throughput(env, options.events, timeout_s=timeout)
            queued = await queued_messages(env)
            if queued != options.events:
                say(f"  warning: {side} round {round_no}: {queued} messages queued, expected {options.events}")
            await env.queue.purge()
            if not warmup:
                out[side].append(seconds)
            label = "warm-up" if warmup else f"{round_no - options.warmup_rounds}/{options.rounds}"
            say(f"  throughput round {label}: {side:8s} {options.events / seconds:8,.0f} events/s")
    return out


async def profile_relay(env: BenchEnv, options: Options, started: datetime) -> str:
    """One more relay throughput round under cProfile (not counted): where the relay's time goes."""
    profiler = cProfile.Profile()
    with relay.sql_timer(env) as sql:
        seconds = await relay.throughput(
            env, options.events, timeout_s=max(120.0, options.events / 20), profiler=profiler, sql=sql
        )
    await env.queue.purge()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"outbox-{started.strftime('%Y%m%dT%H%M%SZ')}-relay.prof"
    profiler.dump_stats(path)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    say(f"  profiled relay round: {options.events / seconds:,.0f} events/s under cProfile; stats in {path}")
    lines = [
        (
            f"Relay round under cProfile: {options.events} events in {seconds * 1000:.0f} ms wall. Time inside SQL "
            "statements (cursor execute, as the asyncio loop sees it; COMMIT and pool pre-ping not included):"
        )
    ]
    lines += [
        f"  {kind:8s} {count:5d} statements {total * 1000:8.1f} ms  ({total / seconds:5.1%} of wall)"
        for kind, (count, total) in sorted(sql.items(), key=lambda item: -item[1][1])
    ]
    return "\n".join(lines) + "\n\n" + text.getvalue()


async def run(options: Options) -> dict[str, Any]:
    started = datetime.now(UTC)
    env = BenchEnv(batch_size=options.batch_size)
    say(f"outbox bench {env.run_id}: database {env.database}, exchange {env.exchange_name}, queue {env.queue_name}")
    load_start = loadavg()
    wall = time.perf_counter()
    try:
        await env.setup()
        latency = await measure_latency(env, options)
        throughput = await measure_throughput(env, options)
        profile_text = await profile_relay(env, options, started) if options.profile else ""
    finally:
        leftovers = await env.teardown()
        if leftovers:
            say("could not remove: " + "; ".join(leftovers))
        else:
            say(f"cleaned up {env.database}, its role, the exchange and the queue")

    results: dict[str, Any] = {
        "benchmark": "outbox",
        "started_at": started.isoformat(),
        "run_id": env.run_id,
        "wall_seconds": round(time.perf_counter() - wall, 1),
        "machine": {**machine(), "loadavg_start": load_start, "loadavg_end": loadavg(), **env.server_versions},
        "config": {
            **asdict(options),
            "batch_size": env.settings.outbox_batch_size,
            "outbox_poll_interval_s": env.settings.outbox_poll_interval_s,
            "message_body_bytes": body_size(payload(1)),
        },
        "baseline": {
            "confirm_latency_ms": latency_summary(latency["confirm"]),
            "delivery_latency_ms": latency_summary(latency["delivery"]),
            "throughput": throughput_summary(options.events, throughput["baseline"]),
        },
        "relay": {
            "commit_to_receive_ms": latency_summary(latency["commit_to_receive"]),
            "writer_transaction_ms": latency_summary(latency["writer_tx"]),
            "poll_wakeups": sum(1 for s in latency["commit_to_receive"] if s > POLL_WAKEUP_S),
            "throughput": throughput_summary(options.events, throughput["relay"]),
        },
    }
    base, rel = results["baseline"], results["relay"]
    results["ratios"] = {
        "latency_p50_vs_confirm": rel["commit_to_receive_ms"]["p50"] / base["confirm_latency_ms"]["p50"],
        "latency_p99_vs_confirm": rel["commit_to_receive_ms"]["p99"] / base["confirm_latency_ms"]["p99"],
        "latency_p50_vs_delivery": rel["commit_to_receive_ms"]["p50"] / base["delivery_latency_ms"]["p50"],
        "latency_p99_vs_delivery": rel["commit_to_receive_ms"]["p99"] / base["delivery_latency_ms"]["p99"],
        "throughput": rel["throughput"]["median"] / base["throughput"]["median"],
        # Each relay round against the baseline round just before it: less exposed to drifting noise.
        "throughput_paired": [b / r for b, r in zip(throughput["baseline"], throughput["relay"], strict=True)],
    }
    results["ratios"]["throughput_paired_median"] = statistics.median(results["ratios"]["throughput_paired"])
    path = write_json(results, started)
    print_report(results, path)
    if profile_text:
        print(profile_text)
    return results


def print_report(results: dict[str, Any], path: Any) -> None:
    m, cfg, rel = results["machine"], results["config"], results["relay"]
    print()
    print(
        f"Outbox relay vs raw aio-pika publishing - {m['nproc']} CPU(s) ({m['cpu_model'] or 'unknown CPU'}), "
        f"PostgreSQL {m.get('postgresql', '?')}, RabbitMQ {m.get('rabbitmq', '?')}, Python {m['python']}"
    )
    print(
        f"{cfg['samples']} idle latency pairs {cfg['spacing_ms']:.0f} ms apart, {cfg['message_body_bytes']} B "
        f"CloudEvents, persistent, durable exchange+queue; relay poll interval {cfg['outbox_poll_interval_s']} s "
        f"(NOTIFY wake-up measured); load avg {m['loadavg_start']} -> {m['loadavg_end']}"
    )
    print()
    print(table(results))
    print()
    writer = rel["writer_transaction_ms"]
    print(
        f"writer transaction (checkout+INSERT+NOTIFY+COMMIT): p50 {writer['p50']:.2f} ms, p99 {writer['p99']:.2f} ms "
        f"(before the clock starts); samples woken by the poll, not NOTIFY: {rel['poll_wakeups']}"
    )
    paired = results["ratios"]["throughput_paired"]
    print(
        f"throughput relay/baseline per round (each relay round against the baseline round just before it): "
        f"{', '.join(f'{x:.2f}' for x in paired)}; median {results['ratios']['throughput_paired_median']:.2f}"
    )
    if m["loadavg_start"] and m["loadavg_start"][0] > m["nproc"]:
        print(
            f"warning: the machine was busy (load average {m['loadavg_start'][0]} on {m['nproc']} CPUs): "
            "absolute numbers are noisy, and even the ratios wobble"
        )
    print(
        "Ratios matter more than absolute numbers: both sides ran in this run, interleaved, on the same "
        "machine, broker and database server, with everything on localhost."
    )
    print(f"results: {path}")
