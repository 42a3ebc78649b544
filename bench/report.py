"""Statistics, the printed table and the JSON file."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def say(text: str) -> None:
    """Progress lines go to stderr; the report goes to stdout."""
    print(text, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p90": percentile(ms, 90),
        "p99": percentile(ms, 99),
        "mean": statistics.fmean(ms) if ms else math.nan,
        "min": min(ms, default=math.nan),
        "max": max(ms, default=math.nan),
    }


def throughput_summary(events: int, seconds: list[float]) -> dict[str, Any]:
    rates = [events / s for s in seconds]
    return {
        "events": events,
        "seconds": seconds,
        "events_per_s": rates,
        "median": statistics.median(rates) if rates else math.nan,
        "min": min(rates, default=math.nan),
        "max": max(rates, default=math.nan),
    }


def machine() -> dict[str, Any]:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count() or 0
    return {
        "nproc": nproc,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return math.nan
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, man proc).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _fmt(value: float, unit: str) -> str:
    if math.isnan(value):
        return "-"
    if unit == "ms":
        return f"{value:.2f} ms"
    return f"{value:,.0f} ev/s"


def table(results: dict[str, Any]) -> str:
    base, relay = results["baseline"], results["relay"]
    rows: list[tuple[str, str, str, str]] = []

    def add(metric: str, b: float, r: float, unit: str) -> None:
        ratio = r / b if b and not math.isnan(b) and not math.isnan(r) else math.nan
        rows.append((metric, _fmt(b, unit), _fmt(r, unit), "-" if math.isnan(ratio) else f"{ratio:.2f}x"))

    conf, deliv, c2r = base["confirm_latency_ms"], base["delivery_latency_ms"], relay["commit_to_receive_ms"]
    add("idle latency p50  (publish+confirm | commit→receive)", conf["p50"], c2r["p50"], "ms")
    add("idle latency p99  (publish+confirm | commit→receive)", conf["p99"], c2r["p99"], "ms")
    add("idle latency p50  (publish→receive | commit→receive)", deliv["p50"], c2r["p50"], "ms")
    add("idle latency p99  (publish→receive | commit→receive)", deliv["p99"], c2r["p99"], "ms")
    cfg = results["config"]
    add(
        f"throughput, median of {cfg['rounds']} (N={cfg['events']}, batch {cfg['batch_size']})",
        base["throughput"]["median"],
        relay["throughput"]["median"],
        "eps",
    )

    return render_table(("metric", "baseline", "relay", "relay/baseline"), rows)


def render_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells)

    out = [line(header), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]
    return "\n".join(out)


def ratio(subject: float, baseline: float) -> float:
    if not baseline or math.isnan(baseline) or math.isnan(subject):
        return math.nan
    return subject / baseline


def fmt_ratio(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}x"


def spread(values: list[float]) -> str:
    """`median (min-max)` of per-round figures, for the printed summaries."""
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} (range {min(values):.2f}-{max(values):.2f})"


def write_json(results: dict[str, Any], started: datetime, suite: str = "outbox") -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{suite}-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return path
