"""`python -m bench`: the outbox relay benchmark (see bench/README.md)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bench.suite import Options, run


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--events", type=int, help="events per throughput round (default 5000, --quick 1000)")
    parser.add_argument("--samples", type=int, help="idle latency samples per side (default 300, --quick 100)")
    parser.add_argument(
        "--rounds",
        type=int,
        help="throughput rounds per side, alternating after a warm-up round (default 5, --quick 1)",
    )
    parser.add_argument("--spacing-ms", type=float, default=20.0, help="pause after each latency sample")
    parser.add_argument("--batch-size", type=int, help="outbox_batch_size (default: the runtime's setting)")
    parser.add_argument("--quick", action="store_true", help="a smaller run, for a smoke test")
    parser.add_argument("--profile", action="store_true", help="one more relay throughput round under cProfile")
    args = parser.parse_args(argv)
    quick = args.quick
    options = Options(
        events=args.events or (1_000 if quick else 5_000),
        samples=args.samples or (100 if quick else 300),
        warmup=10 if quick else 20,
        rounds=args.rounds or (1 if quick else 5),
        spacing_ms=args.spacing_ms,
        batch_size=args.batch_size,
        profile=args.profile,
    )
    if options.events <= 0 or options.samples <= 0 or options.rounds <= 0:
        parser.error("--events, --samples and --rounds must be positive")
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    try:
        asyncio.run(run(options))
    except KeyboardInterrupt:
        # asyncio.run cancelled the bench on the first Ctrl-C; its `finally` removed what it created.
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
