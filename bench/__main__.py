"""`python -m bench [outbox|catalog|pipeline|bot|memory|broadcast|all]`: benchmarks against a baseline in the same run.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

from bench import bot, broadcast, catalog, memory, pipeline, suite
from bench.report import say

SUITES = ("outbox", "catalog", "pipeline", "bot", "memory", "broadcast")


@dataclass
class Plan:
    suites: tuple[str, ...]
    outbox: suite.Options
    catalog: catalog.Options
    pipeline: pipeline.Options
    bot: bot.Options
    memory: memory.Options
    broadcast: broadcast.Options


def parse(argv: list[str] | None = None) -> Plan:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("suite", nargs="?", choices=[*SUITES, "all"], default="all", help="default: all")
    parser.add_argument("--quick", action="store_true", help="a smaller run of each suite, for a smoke test")
    parser.add_argument("--rounds", type=int, help="counted rounds per side (default 5, --quick 1)")
    parser.add_argument(
        "--events",
        type=int,
        help="events per round: outbox (default 5000, --quick 1000), pipeline (default 1000, --quick 200)",
    )
    outbox = parser.add_argument_group("outbox")
    outbox.add_argument("--samples", type=int, help="idle latency samples per side (default 300, --quick 100)")
    outbox.add_argument("--spacing-ms", type=float, default=20.0, help="pause after each latency sample")
    outbox.add_argument("--batch-size", type=int, help="outbox_batch_size (default: the runtime's setting)")
    outbox.add_argument(
        "--profile",
        action="store_true",
        help="outbox: one more relay throughput round under cProfile; bot: one more gateway round, its worker profiled",
    )
    cat = parser.add_argument_group("catalog")
    cat.add_argument("--requests", type=int, help="requests per round and side (default 3000, --quick 600)")
    cat.add_argument("--concurrency", type=int, default=32, help="requests in flight (default 32)")
    cat.add_argument("--page-size", type=int, default=10, help="courses per listed page (default 10)")
    pipe = parser.add_argument_group("pipeline")
    pipe.add_argument(
        "--pipeline-mode",
        choices=["processes", "inprocess"],
        default="processes",
        help="the services as their worker processes (default) or in the bench's process (InProcessStack)",
    )
    pipe.add_argument(
        "--gamification-workers",
        type=int,
        default=1,
        help="gamification worker processes sharing its queues (processes mode; the scale-out figure: compare "
        "pipeline/raw of 1 and of 2)",
    )
    bot_group = parser.add_argument_group("bot")
    bot_group.add_argument("--learners", type=int, help="learners (chats) per side (default 100)")
    bot_group.add_argument("--rate", type=float, default=50.0, help="updates/s, open-loop (default 50)")
    bot_group.add_argument("--seconds", type=float, help="length of a counted round (default 12, --quick 10)")
    cast = parser.add_argument_group("broadcast")
    cast.add_argument("--recipients", type=int, help="learners the broadcast goes to (default 100000, --quick 2000)")
    cast.add_argument(
        "--global-rate",
        type=int,
        default=300,
        help="the configured global send limit, messages/s, enforced by the emulator too (default 300; Telegram's 30)",
    )
    cast.add_argument("--inject-every", type=int, default=50, help="every Nth send within the limits gets a 429")
    cast.add_argument("--kill-at", type=float, default=0.4, help="SIGKILL the sender once this share is sent")
    args = parser.parse_args(argv)
    quick = args.quick
    rounds = args.rounds or (1 if quick else 5)
    plan = Plan(
        suites=SUITES if args.suite == "all" else (args.suite,),
        outbox=suite.Options(
            events=args.events or (1_000 if quick else 5_000),
            samples=args.samples or (100 if quick else 300),
            warmup=10 if quick else 20,
            rounds=rounds,
            spacing_ms=args.spacing_ms,
            batch_size=args.batch_size,
            profile=args.profile,
        ),
        catalog=catalog.Options(
            requests=args.requests or (600 if quick else 3_000),
            concurrency=args.concurrency,
            rounds=rounds,
            page_size=args.page_size,
        ),
        pipeline=pipeline.Options(
            events=args.events or (200 if quick else 1_000),
            rounds=rounds,
            mode=args.pipeline_mode,
            gamification_workers=args.gamification_workers,
        ),
        bot=bot.Options(
            learners=args.learners or 100,
            rate=args.rate,
            seconds=args.seconds or (10.0 if quick else 12.0),
            # Each counted round is many samples already: 2 per side by default, not 5.
            rounds=args.rounds or (1 if quick else 2),
            warmup_seconds=3.0 if quick else 5.0,
            profile=args.profile,
        ),
        memory=memory.Options(idle_seconds=5.0 if quick else memory.IDLE_S),
        broadcast=broadcast.Options(
            recipients=args.recipients or (2_000 if quick else 100_000),
            global_rate=args.global_rate,
            inject_every=args.inject_every,
            kill_at=args.kill_at,
        ),
    )
    positive = (rounds, plan.outbox.events, plan.outbox.samples, plan.catalog.requests, args.concurrency)
    positive += (plan.bot.learners, plan.bot.rate, plan.bot.seconds)
    positive += (plan.broadcast.recipients, plan.broadcast.global_rate)
    if args.inject_every < 2 or not 0 < args.kill_at < 1:  # the emulator refuses inject_every < 2
        parser.error("--inject-every must be at least 2 and --kill-at within (0, 1)")
    if min(positive) <= 0 or not 1 <= args.page_size <= 100:
        parser.error("counts must be positive and --page-size within 1..100")
    return plan


async def run(plan: Plan) -> None:
    headlines: list[str] = []
    for name in plan.suites:
        say(f"== {name} ==")
        if name == "outbox":
            results = await suite.run(plan.outbox)
            r = results["ratios"]
            headlines.append(
                f"outbox:   throughput relay/raw aio-pika {r['throughput_paired_median']:.2f}x per round (median), "
                f"idle latency p50 {r['latency_p50_vs_delivery']:.2f}x publish->receive"
            )
        elif name == "catalog":
            results = await catalog.run(plan.catalog)
            r = results["ratios"]
            headlines.append(
                f"catalog:  requests/s catalog/bare {r['requests_per_s']:.2f}x "
                f"(rounds {min(r['requests_per_s_paired']):.2f}-{max(r['requests_per_s_paired']):.2f}), "
                f"p99 {r['latency_p99']:.2f}x"
            )
        elif name == "bot":
            results = await bot.run(plan.bot)
            g, e = results["gateway"], results["echo"]
            headlines.append(
                f"bot:      answer p99 gateway {g['answer_ms']['p99']:.0f} ms vs echo {e['answer_ms']['p99']:.0f} ms "
                f"({results['ratios']['answer_p99']:.2f}x), points p99 {g['points_ms']['p99']:.0f} ms, "
                f"{g['updates_per_s_median']:.1f} updates/s answered"
            )
        elif name == "broadcast":
            results = await broadcast.run(plan.broadcast)
            s = results["emulator"]
            headlines.append(
                f"broadcast: {plan.broadcast.recipients} recipients in {results['elapsed_s']:.0f}s, peak "
                f"{s['peak_global_attempts']}/s (limit {plan.broadcast.global_rate}) and "
                f"{s['peak_per_chat_attempts']}/s per chat, {s['chats_with_more_than_one']} duplicates, "
                f"{results['recipients'].get('unknown', 0)} unknown after SIGKILL"
            )
        elif name == "memory":
            results = await memory.run(plan.memory)
            over = results["over_goal"]
            worst = max(results["processes"].items(), key=lambda kv: kv[1]["rss_mb"] if "emulator" not in kv[0] else 0)
            headlines.append(
                f"memory:   idle RSS per process, largest {worst[0]} {worst[1]['rss_mb']:.0f} MB "
                f"(goal {results['goal_mb']:.0f} MB; over: {', '.join(over) or 'none'})"
            )
        else:
            results = await pipeline.run(plan.pipeline)
            r = results["ratios"]
            headlines.append(
                f"pipeline: events/s pipeline/raw aio-pika {r['events_per_s']:.2f}x "
                f"(rounds {min(r['events_per_s_paired']):.2f}-{max(r['events_per_s_paired']):.2f})"
            )
    if len(plan.suites) > 1:
        print()
        print("Summary (ratios against the baseline of the same run):")
        for line in headlines:
            print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    plan = parse(argv)
    try:
        asyncio.run(run(plan))
    except KeyboardInterrupt:
        # asyncio.run cancelled the bench on the first Ctrl-C; its `finally` blocks removed what it created.
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
