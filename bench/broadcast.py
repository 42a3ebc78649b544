"""The broadcast suite (issue 12): an operator's broadcast to N learners (default 100,000) through the Bot API
emulator with 429s injected, a sender SIGKILLed mid-way and another one started.

Subject: the gateway's broadcast delivery (`academy_gateway_bot.broadcasts.delivery.BroadcastDelivery` with the
one `NotificationSender`: the same code as the gateway worker's job) in its own process,
`python -m bench.broadcast_sender`, on the run's own database (the gateway's schema, migrated), Redis prefix
and a Bot API emulator process of its own. N learners are in the gateway's `learners` projection (half Russian,
half English; 1 in 50 opted out of announcements, 1 in 100 blocked the bot), their chats open in the emulator;
one broadcast to `everyone` is `sending` when the first sender starts.

Limits: Telegram's 30 messages/s would make 100,000 take 55 minutes, so the suite runs the same code at a
higher configured global limit (`--global-rate`, default 300/s; per chat 1/s as Telegram's) and the emulator
enforces the same limits with 429s (flood control on), and also refuses every `--inject-every`-th send within
them with a 429 of `retry_after` 1 s. The claim lease is 5 s, so the second sender gives up the first one's
in-flight claims quickly.

Figures (from the emulator's `/send-stats`, which timestamps every send on arrival, and the database):
- the peak of sends in any one second, overall and in one chat, of every send that reached the emulator
  (refused ones too: the sender's own pace) and of the delivered ones; 429s over a limit (expected 0) and
  injected;
- duplicates: chats that got more than one message (expected 0);
- the recipients' outcomes: sent, blocked, skipped, failed, unknown (the first sender's in-flight sends,
  at most its concurrency: delivered or not, never re-sent);
- every recipient got exactly one message but the `unknown` ones: chats with a message ⊇ sent, ⊆ sent + unknown;
- time, messages/s, when the kill came (after `--kill-at` of the recipients were sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from academy_devstack.stack import Process, venv_script
from academy_gateway_bot.app import service as gateway_service
from academy_runtime.migrations import migrate
from academy_runtime.testing import TestPlatform

from bench.catalog import started, wait_ready
from bench.platform import bench_platform
from bench.report import loadavg, machine, say, write_json

CHAT_ID_BASE = 10_000_000
OPEN_CHATS_BATCH = 10_000


@dataclass(frozen=True)
class Options:
    recipients: int = 100_000
    global_rate: int = 300
    inject_every: int = 50
    kill_at: float = 0.4
    concurrency: int = 64


class CheckFailedError(AssertionError):
    """A figure broke the suite's rule (a limit passed, a duplicate, a recipient missed)."""


def sender_env(platform: TestPlatform, emulator_url: str, options: Options) -> dict[str, str]:
    return {
        **os.environ,
        **platform.settings_env("gateway_bot"),
        "PYTHONUNBUFFERED": "1",
        "TELEGRAM_API_URL": emulator_url,
        "SEND_RATE_GLOBAL_PER_S": str(options.global_rate),
        "SEND_RATE_PER_CHAT_PER_S": "1",
        "BROADCAST_CONCURRENCY": str(options.concurrency),
        "BROADCAST_CLAIM_LEASE_S": "5",
        "BROADCAST_QUIET_START_HOUR": "0",
        "BROADCAST_QUIET_END_HOUR": "0",  # no quiet hours: the bench must not depend on the hour
        "DB_POOL_SIZE": "20",
        "DB_MAX_OVERFLOW": "20",
    }


async def seed(db: asyncpg.Pool, emulator: httpx.AsyncClient, n: int) -> None:
    """N learners in the gateway's projection, their chats open in the emulator, one broadcast sending."""
    rows = [
        (i + 1, CHAT_ID_BASE + i, "en" if i % 2 else "ru", "Europe/Moscow", i % 50 != 7, i % 100 == 3) for i in range(n)
    ]
    await db.copy_records_to_table(
        "learners",
        records=[(u, t, loc, tz, ann, datetime.now(UTC) if blocked else None) for u, t, loc, tz, ann, blocked in rows],
        columns=["user_id", "telegram_id", "locale", "time_zone", "announcements_enabled", "blocked_at"],
        schema_name="gateway_bot",
    )
    for start in range(0, n, OPEN_CHATS_BATCH):
        ids = [CHAT_ID_BASE + i for i in range(start, min(n, start + OPEN_CHATS_BATCH))]
        response = await emulator.post("/_emulator/chats/open", json={"user_ids": ids})
        response.raise_for_status()
    await db.execute(
        """INSERT INTO gateway_bot.broadcasts (text_ru, text_en, segment, status, created_by, started_at,
                                               button_url, button_text_ru, button_text_en)
           VALUES ('<b>Весенняя акция</b>: скидка 20% на все курсы', '<b>Spring sale</b>: 20% off every course',
                   '{"kind": "everyone"}', 'sending', 'bench', now(),
                   'https://example.com/sale', 'Подробнее', 'Details')"""
    )


async def figures(db: asyncpg.Pool) -> dict[str, int]:
    """The recipients by status (a dropped connection is retried on a new one)."""
    for attempt in range(3):
        try:
            rows = await db.fetch("SELECT status, count(*) AS n FROM gateway_bot.broadcast_recipients GROUP BY status")
        except (asyncpg.InterfaceError, asyncpg.PostgresConnectionError, ConnectionError):
            if attempt == 2:  # the last of three
                raise
            await asyncio.sleep(1)
        else:
            return {row["status"]: int(row["n"]) for row in rows}
    raise AssertionError("unreachable")


async def wait_until_sent(db: asyncpg.Pool, target: int, process: Process, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        counts = await figures(db)
        if counts.get("sent", 0) >= target:
            return
        if not process.alive():
            raise RuntimeError(f"the sender exited before {target} were sent:\n{process.tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{counts.get('sent', 0)} of {target} sent in {timeout_s:.0f}s")
        await asyncio.sleep(0.5)


async def wait_exit(process: Process, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while process.alive():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the second sender did not finish in {timeout_s:.0f}s:\n{process.tail()}")
        await asyncio.sleep(0.5)


def start_sender(name: str, env: dict[str, str], log_dir: Path) -> Process:
    process = Process(name, [sys.executable, "-m", "bench.broadcast_sender"], env, log_dir / f"{name}.log")
    process.start()
    return process


def checks(options: Options, stats: dict[str, Any], counts: dict[str, int]) -> list[str]:
    """The suite's rules, each as a failure line (empty: all hold)."""
    failures = []
    sent, unknown = counts.get("sent", 0), counts.get("unknown", 0)
    if stats["peak_global_attempts"] > options.global_rate:
        failures.append(f"peak {stats['peak_global_attempts']} sends in one second > the limit {options.global_rate}")
    if stats["peak_per_chat_attempts"] > 1:
        failures.append(f"a chat got {stats['peak_per_chat_attempts']} sends in one second")
    if stats["refused_429"]:
        failures.append(f"{stats['refused_429']} sends over a limit were refused by the flood control")
    if stats["chats_with_more_than_one"]:
        failures.append(f"{stats['chats_with_more_than_one']} chats got the broadcast twice")
    if not sent <= stats["chats"] <= sent + unknown:
        failures.append(f"{stats['chats']} chats got it; sent {sent}, unknown {unknown}")
    if counts.get("pending", 0) or counts.get("sending", 0):
        failures.append(f"left over: {counts}")
    return failures


async def send_with_a_kill(
    db: asyncpg.Pool, env: dict[str, str], log_dir: Path, options: Options
) -> tuple[float, dict[str, int], float]:
    """Start a sender, SIGKILL it once `kill_at` of the recipients are sent, start another and wait for it to
    finish the broadcast. Returns when the kill came (s), the figures then, and the whole time (s)."""
    n = options.recipients
    expected_s = n / options.global_rate
    say(f"  sending to {n} at up to {options.global_rate}/s (>= {expected_s:.0f}s); SIGKILL at {options.kill_at:.0%}")
    clock = time.perf_counter()
    first = start_sender("sender-1", env, log_dir)
    try:
        await wait_until_sent(db, int(n * options.kill_at * 0.96), first, expected_s * 10 + 120)
        assert first.popen is not None
        os.killpg(first.popen.pid, signal.SIGKILL)
        first.popen.wait()
    finally:
        await asyncio.to_thread(first.stop)
    killed_at_s = time.perf_counter() - clock
    at_kill = await figures(db)
    say(f"  SIGKILL after {killed_at_s:.1f}s: {at_kill}")
    second = start_sender("sender-2", env, log_dir)
    try:
        await wait_exit(second, expected_s * 10 + 120)
    finally:
        await asyncio.to_thread(second.stop)
    if second.popen is not None and second.popen.returncode not in (0, None):
        raise RuntimeError(f"the second sender failed:\n{second.tail()}")
    return killed_at_s, at_kill, time.perf_counter() - clock


async def run(options: Options) -> dict[str, Any]:
    started_at = datetime.now(UTC)
    load_start = loadavg()
    n = options.recipients
    with tempfile.TemporaryDirectory(prefix="academy-bench-broadcast-") as tmp:
        log_dir = Path(tmp)
        async with bench_platform("broadcast", [gateway_service]) as platform:
            await asyncio.to_thread(
                migrate, gateway_service, "upgrade", "head", database_url=platform.database_url("gateway_bot")
            )
            emulator_command = [
                venv_script("academy-tg-emulator"),
                "--rate-limit",
                "--rate-limit-global",
                str(options.global_rate),
                "--rate-limit-per-chat",
                "1",
                "--log-level",
                "warning",
            ]
            async with (
                started("tg-emulator", emulator_command, {**os.environ}, log_dir) as emulator,
                httpx.AsyncClient(base_url=emulator.url, timeout=120) as control,
            ):
                await wait_ready(emulator, "/_emulator/health")
                limits = {
                    "enabled": True,
                    "per_chat_per_second": 1,
                    "global_per_second": options.global_rate,
                    "inject_every": options.inject_every,
                    "injected_retry_after": 1,
                }
                (await control.post("/_emulator/rate-limit", json=limits)).raise_for_status()
                # A pool, not one connection: a connection the server drops (another suite's clean-up, a
                # restart) is replaced at the next query instead of ending the run.
                db = await asyncpg.create_pool(platform.admin_dsn(), min_size=1, max_size=2)
                try:
                    say(f"  seeding {n} learners and their chats")
                    await seed(db, control, n)
                    env = sender_env(platform, emulator.url, options)
                    killed_at_s, at_kill, elapsed = await send_with_a_kill(db, env, log_dir, options)
                    counts = await figures(db)
                    stats = (await control.get("/_emulator/send-stats", params={"window_s": 1.0})).json()
                    status = await db.fetchval("SELECT status FROM gateway_bot.broadcasts")
                finally:
                    await db.close()
    failures = checks(options, stats, counts)
    results = {
        "suite": "broadcast",
        "started_at": started_at.isoformat(),
        "machine": machine(),
        "loadavg": {"start": load_start, "end": loadavg()},
        "options": asdict(options),
        "broadcast_status": status,
        "recipients": counts,
        "at_kill": at_kill,
        "killed_at_s": round(killed_at_s, 1),
        "elapsed_s": round(elapsed, 1),
        "messages_per_s": round(stats["messages"] / elapsed, 1) if elapsed else 0.0,
        "emulator": stats,
        "failures": failures,
    }
    print_report(results)
    path = write_json(results, started_at, suite="broadcast")
    say(f"  figures written to {path}")
    if failures:
        raise CheckFailedError("; ".join(failures))
    return results


def print_report(results: dict[str, Any]) -> None:
    o, s, c = results["options"], results["emulator"], results["recipients"]
    lines = [
        (
            f"broadcast to {o['recipients']} learners, limits {o['global_rate']}/s overall (Telegram's: 30/s; same "
            f"code path, the limit a setting) and 1/s per chat, every {o['inject_every']}th send within them refused "
            f"with 429 retry_after=1, the sender SIGKILLed after {results['killed_at_s']}s and restarted"
        ),
        f"  time {results['elapsed_s']}s, {results['messages_per_s']} messages/s delivered",
        (
            f"  peak sends in any 1 s: {s['peak_global_attempts']} overall (limit {o['global_rate']}), "
            f"{s['peak_per_chat_attempts']} per chat (limit 1); delivered: {s['peak_global']} / {s['peak_per_chat']}"
        ),
        f"  429s: {s['injected_429']} injected (honoured), {s['refused_429']} over a limit",
        (
            f"  duplicates: {s['chats_with_more_than_one']} chats got more than one message ({s['messages']} messages "
            f"to {s['chats']} chats)"
        ),
        f"  recipients: {json.dumps(c, sort_keys=True)} (unknown = the killed sender's in-flight sends, not re-sent)",
        f"  status {results['broadcast_status']}; checks: {'; '.join(results['failures']) or 'all hold'}",
    ]
    print("\n".join(lines))
    with contextlib.suppress(Exception):
        sys.stdout.flush()
