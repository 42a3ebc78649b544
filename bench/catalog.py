"""The catalog benchmark: the catalog's course list (real service, Redis cache) against a bare FastAPI endpoint.

Both are uvicorn processes started by this run with the same settings; one load generator (aiohttp,
fixed concurrency, in this process) sends the same requests, with the gateway's service token, to
each in turn: a warm-up round per side, then counted rounds alternating which side goes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from academy_catalog.app import service as catalog_service
from academy_devstack.stack import Process, free_port, venv_script
from academy_runtime.migrations import migrate
from academy_runtime.testing import TestPlatform, operator_token, service_token

from bench.catalog_data import course_command
from bench.platform import bench_platform
from bench.report import (
    fmt_ratio,
    latency_summary,
    loadavg,
    machine,
    process_cpu_seconds,
    ratio,
    render_table,
    say,
    spread,
    write_json,
)

READY_TIMEOUT_S = 60.0
SEED_CONCURRENCY = 8
GATEWAY = "gateway-bot"  # the catalog's learner queries are called by the gateway, with its token
SIDES = ("catalog", "bare")


@dataclass
class Options:
    requests: int = 3_000
    concurrency: int = 32
    rounds: int = 5
    warmup_rounds: int = 1
    page_size: int = 10
    courses_per_category: int = 30
    lessons_per_course: int = 8


@dataclass
class Server:
    """One uvicorn process of the run."""

    name: str
    process: Process
    url: str

    @property
    def pid(self) -> int:
        assert self.process.popen is not None
        return self.process.popen.pid


@dataclass
class RoundResult:
    seconds: float
    latencies: list[float]
    errors: int
    bytes_received: int
    client_cpu_s: float
    server_cpu_s: float

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds


@dataclass
class Side:
    rounds: list[RoundResult] = field(default_factory=list)


# -- processes -------------------------------------------------------------------------------------


async def wait_ready(server: Server, path: str, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        while True:
            if not server.process.alive():
                raise RuntimeError(f"{server.name} exited at start-up:\n{server.process.tail()}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(path, headers=headers)).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{server.name} not ready in {READY_TIMEOUT_S:.0f}s:\n{server.process.tail()}")
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def started(name: str, command: list[str], env: dict[str, str], log_dir: Path) -> AsyncIterator[Server]:
    port = free_port()
    process = Process(name, [*command, "--host", "127.0.0.1", "--port", str(port)], env, log_dir / f"{name}.log")
    process.start()
    try:
        yield Server(name, process, f"http://127.0.0.1:{port}")
    finally:
        await asyncio.to_thread(process.stop)


def catalog_env(platform: TestPlatform) -> dict[str, str]:
    return {**os.environ, **platform.settings_env("catalog"), "PYTHONUNBUFFERED": "1"}


# -- the catalog's data ------------------------------------------------------------------------------


async def seed(server: Server, token: str, options: Options) -> list[dict[str, Any]]:
    """Create and publish `courses_per_category` courses in every category through the operator API."""
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as client:
        response = await client.get("/internal/categories")
        response.raise_for_status()
        categories: list[dict[str, Any]] = response.json()
        if not categories:
            raise RuntimeError("the catalog has no categories (its migration inserts them)")
        limit = asyncio.Semaphore(SEED_CONCURRENCY)

        async def create(category: dict[str, Any], number: int) -> None:
            command = course_command(category["slug"], category["title_ru"], number, options.lessons_per_course)
            async with limit:
                created = await client.post("/internal/courses", json=command)
                if created.status_code != 201:
                    raise RuntimeError(f"creating a course: {created.status_code} {created.text[:500]}")
                published = await client.post(f"/internal/courses/{created.json()['id']}/publish")
                if published.status_code != 200:
                    raise RuntimeError(f"publishing a course: {published.status_code} {published.text[:500]}")

        await asyncio.gather(*(create(c, n) for c in categories for n in range(1, options.courses_per_category + 1)))
    return categories


def list_paths(categories: list[dict[str, Any]], options: Options) -> list[str]:
    """Every page of every category, as the bot pages through the catalog."""
    pages = max(1, math.ceil(options.courses_per_category / options.page_size))
    return [
        f"/internal/courses?category={c['slug']}&page={page}&page_size={options.page_size}"
        for page in range(1, pages + 1)
        for c in categories
    ]


async def capture(server: Server, token: str, path: str) -> bytes:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        response = await client.get(path, headers={"authorization": f"Bearer {token}"})
        response.raise_for_status()
        return response.content


async def check_pages(server: Server, token: str, paths: list[str], options: Options) -> None:
    """Each page the load asks for is a full page of the catalog (outside the clock)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        for path in paths:
            page = (await client.get(path, headers={"authorization": f"Bearer {token}"})).json()
            expected = min(options.page_size, options.courses_per_category)
            if len(page.get("items", [])) != expected or page.get("total") != options.courses_per_category:
                raise RuntimeError(f"unexpected page for {path}: {str(page)[:300]}")


# -- the load ------------------------------------------------------------------------------------------


async def load_round(
    http: aiohttp.ClientSession, server: Server, paths: list[str], token: str, options: Options
) -> RoundResult:
    """`requests` GETs over `concurrency` keep-alive connections, the paths in rotation."""
    headers = {"authorization": f"Bearer {token}"}
    latencies = [0.0] * options.requests
    errors = 0
    received = 0
    next_request = iter(range(options.requests))

    async def worker() -> None:
        nonlocal errors, received
        for i in next_request:  # one iterator shared by the workers: each request is sent once
            started_at = time.perf_counter()
            async with http.get(server.url + paths[i % len(paths)], headers=headers) as response:
                body = await response.read()
                status = response.status
            latencies[i] = time.perf_counter() - started_at
            received += len(body)
            if status != 200:
                errors += 1

    client_cpu, server_cpu = time.process_time(), process_cpu_seconds(server.pid)
    started_at = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(options.concurrency)))
    seconds = time.perf_counter() - started_at
    return RoundResult(
        seconds=seconds,
        latencies=latencies,
        errors=errors,
        bytes_received=received,
        client_cpu_s=time.process_time() - client_cpu,
        server_cpu_s=process_cpu_seconds(server.pid) - server_cpu,
    )


async def measure(
    servers: dict[str, Server], paths: list[str], platform: TestPlatform, options: Options
) -> dict[str, Side]:
    sides = {name: Side() for name in SIDES}
    connector = aiohttp.TCPConnector(limit=options.concurrency * len(SIDES), limit_per_host=options.concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
        total = options.warmup_rounds + options.rounds
        for round_no in range(1, total + 1):
            warmup = round_no <= options.warmup_rounds
            # Counted rounds alternate which side goes first, so a drift in the machine's load
            # does not always favour the same side.
            order = SIDES if warmup or (round_no - options.warmup_rounds) % 2 else SIDES[::-1]
            for name in order:
                # A fresh token per round, as the gateway's token cache re-signs one every few minutes.
                token = service_token(platform, caller=GATEWAY, audience="catalog")
                result = await load_round(http, servers[name], paths, token, options)
                if result.errors:
                    raise RuntimeError(f"{name}: {result.errors}/{options.requests} requests failed")
                label = "warm-up" if warmup else f"{round_no - options.warmup_rounds}/{options.rounds}"
                say(
                    f"  round {label}: {name:8s} {result.rps:8,.0f} requests/s, "
                    f"p99 {statistics.quantiles(result.latencies, n=100)[98] * 1000:6.1f} ms, "
                    f"client CPU {result.client_cpu_s / result.seconds:4.0%}, "
                    f"server CPU {result.server_cpu_s / result.seconds:4.0%}"
                )
                if not warmup:
                    sides[name].rounds.append(result)
    return sides


# -- the run -------------------------------------------------------------------------------------------


async def run(options: Options) -> dict[str, Any]:
    started_at = datetime.now(UTC)
    load_start = loadavg()
    wall = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="academy-bench-") as tmp:
        log_dir = Path(tmp)
        async with bench_platform("catalog", [catalog_service]) as platform:
            await asyncio.to_thread(
                migrate, catalog_service, "upgrade", "head", database_url=platform.database_url("catalog")
            )
            # The courses are made by an editor (an operator token, up to 12 h); pages are read as the gateway.
            editor = operator_token(platform, name="bench", roles=("catalog-editor",), audience="catalog", ttl_s=3600)
            env = catalog_env(platform)
            async with started("catalog", [venv_script("academy-catalog"), "api"], env, log_dir) as catalog:
                await wait_ready(catalog, "/readyz")
                say(
                    f"  seeding {options.courses_per_category} published courses x {options.lessons_per_course} "
                    "lessons per category through the operator API"
                )
                seed_started = time.perf_counter()
                categories = await seed(catalog, editor, options)
                seed_seconds = time.perf_counter() - seed_started
                paths = list_paths(categories, options)
                await check_pages(catalog, service_token(platform, caller=GATEWAY, audience="catalog"), paths, options)
                body_path = log_dir / "courses.json"
                body_path.write_bytes(
                    await capture(catalog, service_token(platform, caller=GATEWAY, audience="catalog"), paths[0])
                )
                bare_command = [sys.executable, "-m", "bench.bare_app", "--body", str(body_path)]
                async with started("bare", bare_command, {**os.environ, "PYTHONUNBUFFERED": "1"}, log_dir) as bare:
                    await wait_ready(bare, "/internal/courses")
                    say(
                        f"  catalog of {len(categories)} categories ready in {seed_seconds:.1f}s; "
                        f"{len(paths)} pages in rotation, {body_path.stat().st_size} B each"
                    )
                    sides = await measure({"catalog": catalog, "bare": bare}, paths, platform, options)
                    catalog_log, bare_log = catalog.process.tail(5), bare.process.tail(5)
        results = summarize(options, sides, body_path.stat().st_size, len(categories), len(paths))
    results.update(
        {
            "benchmark": "catalog",
            "started_at": started_at.isoformat(),
            "run_id": platform.run_id,
            "wall_seconds": round(time.perf_counter() - wall, 1),
            "machine": {**machine(), "loadavg_start": load_start, "loadavg_end": loadavg()},
            "seed_seconds": round(seed_seconds, 1),
            "server_log_tail": {"catalog": catalog_log, "bare": bare_log},
        }
    )
    path = write_json(results, started_at, "catalog")
    print_report(results, path)
    return results


def summarize(options: Options, sides: dict[str, Side], body_bytes: int, categories: int, pages: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "config": {**asdict(options), "response_bytes": body_bytes, "categories": categories, "pages": pages},
    }
    for name, side in sides.items():
        rates = [r.rps for r in side.rounds]
        out[name] = {
            "requests_per_s": rates,
            "requests_per_s_median": statistics.median(rates),
            "latency_ms": latency_summary([s for r in side.rounds for s in r.latencies]),
            "p99_ms_per_round": [latency_summary(r.latencies)["p99"] for r in side.rounds],
            "client_cpu_per_wall": [r.client_cpu_s / r.seconds for r in side.rounds],
            "server_cpu_per_wall": [r.server_cpu_s / r.seconds for r in side.rounds],
            "server_cpu_ms_per_request": [r.server_cpu_s * 1000 / len(r.latencies) for r in side.rounds],
            "bytes_per_response": [r.bytes_received / len(r.latencies) for r in side.rounds],
        }
    cat, bare = out["catalog"], out["bare"]
    out["ratios"] = {
        "requests_per_s": ratio(cat["requests_per_s_median"], bare["requests_per_s_median"]),
        # Each catalog round against the bare round next to it (the order alternates).
        "requests_per_s_paired": [
            ratio(c, b) for c, b in zip(cat["requests_per_s"], bare["requests_per_s"], strict=True)
        ],
        "latency_p50": ratio(cat["latency_ms"]["p50"], bare["latency_ms"]["p50"]),
        "latency_p99": ratio(cat["latency_ms"]["p99"], bare["latency_ms"]["p99"]),
        "latency_p99_paired": [
            ratio(c, b) for c, b in zip(cat["p99_ms_per_round"], bare["p99_ms_per_round"], strict=True)
        ],
    }
    return out


def print_report(results: dict[str, Any], path: Path) -> None:
    m, cfg, cat, bare, ratios = (results[k] for k in ("machine", "config", "catalog", "bare", "ratios"))
    print()
    print(
        f"Catalog course list vs a bare FastAPI endpoint - {m['nproc']} CPU(s) ({m['cpu_model'] or 'unknown CPU'}), "
        f"Python {m['python']}; load avg {m['loadavg_start']} -> {m['loadavg_end']}"
    )
    print(
        f"{cfg['rounds']} rounds x {cfg['requests']} requests per side at concurrency {cfg['concurrency']}, after "
        f"{cfg['warmup_rounds']} warm-up round(s); {cfg['categories']} categories x {cfg['courses_per_category']} "
        f"courses x {cfg['lessons_per_course']} lessons, {cfg['pages']} pages of {cfg['page_size']} in rotation, "
        f"{cfg['response_bytes']} B per response"
    )
    print()
    rows = [
        (
            "requests/s (median of rounds)",
            f"{bare['requests_per_s_median']:,.0f}",
            f"{cat['requests_per_s_median']:,.0f}",
            fmt_ratio(ratios["requests_per_s"]),
        ),
        *(
            (
                f"latency {q} (all rounds)",
                f"{bare['latency_ms'][q]:.2f} ms",
                f"{cat['latency_ms'][q]:.2f} ms",
                fmt_ratio(ratios[f"latency_{q}"]),
            )
            for q in ("p50", "p99")
        ),
        (
            "server CPU per request (median)",
            f"{statistics.median(bare['server_cpu_ms_per_request']):.2f} ms",
            f"{statistics.median(cat['server_cpu_ms_per_request']):.2f} ms",
            fmt_ratio(
                ratio(
                    statistics.median(cat["server_cpu_ms_per_request"]),
                    statistics.median(bare["server_cpu_ms_per_request"]),
                )
            ),
        ),
    ]
    print(render_table(("metric", "bare FastAPI", "catalog", "catalog/bare"), rows))
    print()
    print(f"requests/s catalog/bare per round: {spread(ratios['requests_per_s_paired'])}")
    print(f"p99 catalog/bare per round:        {spread(ratios['latency_p99_paired'])}")
    client = {name: max(results[name]["client_cpu_per_wall"]) for name in SIDES}
    print(
        f"load generator CPU (share of one core, worst round): bare {client['bare']:.0%}, catalog "
        f"{client['catalog']:.0%}" + ("  <- the client may be the limit there" if max(client.values()) > 0.9 else "")
    )
    print(
        "Read the ratios: both servers ran in this run, in alternating rounds, on the same machine, under the "
        "same load generator; the catalog answers from its Redis cache (after the warm-up round) with the "
        "service token checked, the bare endpoint from memory."
    )
    print(f"results: {path}")
