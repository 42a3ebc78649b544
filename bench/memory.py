"""The memory suite: what every process of the platform holds when it is up and idle.

Subject: the whole platform as `make run` starts it (`academy_devstack.stack.Stack`: each service's API
and worker, the gateway's webhook receiver and worker, the Bot API emulator), on the run's own database,
exchange and Redis prefix (`bench.bot.running_platform`, which the bot suite uses too). Once every process
answers, the suite waits `IDLE_S` (start-up garbage collected, nothing arriving) and then reads each
process's resident set three times a second apart: RSS (`VmRSS`) and PSS (`Pss` of `smaps_rollup`: shared
pages split between the processes sharing them, the fairer figure when two processes map the same
libraries). The goal is the issue's: at most `GOAL_MB` per service process.

Baseline: a bare Python that imported nothing (`python -c pass`-like: this interpreter's own start), so a
reader sees how much of each figure is the interpreter itself.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.bot import DEFINITIONS, running_platform
from bench.platform import bench_platform
from bench.report import loadavg, machine, say, write_json

GOAL_MB = 150.0
IDLE_S = 10.0
SAMPLES = 3


@dataclass(frozen=True)
class Options:
    idle_seconds: float = IDLE_S


def resident_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of the process `pid` in MiB, from Linux /proc; NaN where unreadable."""
    rss = pss = float("nan")
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return rss, pss


def bare_interpreter_mb() -> tuple[float, float]:
    """RSS and PSS of this Python started with nothing imported (the floor of every process)."""
    child = subprocess.Popen([sys.executable, "-S", "-c", "import time; time.sleep(3)"])
    try:
        time.sleep(1.0)
        return resident_mb(child.pid)
    finally:
        child.kill()
        child.wait()


async def run(options: Options) -> dict[str, Any]:
    started = datetime.now(UTC)
    load_start = loadavg()
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="academy-bench-memory-") as tmp:
        async with (
            bench_platform("memory", list(DEFINITIONS.values())) as platform,
            running_platform(platform, Path(tmp)) as stack,
        ):
            say(f"  the platform is up; idle for {options.idle_seconds:.0f}s before reading the processes")
            await asyncio.sleep(options.idle_seconds)
            samples: dict[str, list[tuple[float, float]]] = {}
            for _ in range(SAMPLES):
                for process in stack.processes:
                    pid = process.pid
                    if pid is not None:
                        samples.setdefault(process.name, []).append(resident_mb(pid))
                await asyncio.sleep(1.0)
    for name, values in samples.items():
        figures[name] = {
            "rss_mb": statistics.median(v[0] for v in values),
            "pss_mb": statistics.median(v[1] for v in values),
        }
    bare_rss, bare_pss = bare_interpreter_mb()
    results: dict[str, Any] = {
        "suite": "memory",
        "started_at": started.isoformat(),
        "goal_mb": GOAL_MB,
        "idle_seconds": options.idle_seconds,
        "bare_interpreter": {"rss_mb": bare_rss, "pss_mb": bare_pss},
        "processes": figures,
        "over_goal": sorted(name for name, f in figures.items() if f["rss_mb"] > GOAL_MB and "emulator" not in name),
        "machine": {**machine(), "loadavg_start": load_start, "loadavg_end": loadavg()},
    }
    path = write_json(results, started, suite="memory")
    print_report(results, path)
    return results


def print_report(results: dict[str, Any], path: Path) -> None:
    print()
    print(
        f"Idle memory per process after {results['idle_seconds']:.0f}s idle (goal: at most {results['goal_mb']:.0f} MB "
        "RSS per service process; the emulators are test tools, not deployed)"
    )
    print()
    print(f"{'process':<28}{'RSS MB':>10}{'PSS MB':>10}  goal")
    print(f"{'-' * 28}{'-' * 10:>10}{'-' * 10:>10}  ----")
    bare = results["bare_interpreter"]
    print(f"{'bare python (baseline)':<28}{bare['rss_mb']:>10.0f}{bare['pss_mb']:>10.0f}")
    for name, f in sorted(results["processes"].items()):
        verdict = "-" if "emulator" in name else ("ok" if f["rss_mb"] <= results["goal_mb"] else "OVER")
        print(f"{name:<28}{f['rss_mb']:>10.0f}{f['pss_mb']:>10.0f}  {verdict}")
    print()
    if results["over_goal"]:
        print(f"over the goal: {', '.join(results['over_goal'])}")
    print(f"results: {path}")
