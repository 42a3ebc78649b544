"""`make run`: the whole platform on this machine, in the foreground, until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from academy_runtime.provisioning import provision

from academy_devstack.bus import provision_bus_users
from academy_devstack.infra import InfrastructureError, S3Server, ensure_services, port_open
from academy_devstack.stack import (
    CONSOLE_PORT,
    EMULATOR_PORT,
    SERVICES,
    YOOKASSA_EMULATOR_PORT,
    YOOKASSA_WEBHOOK_PATH,
    Stack,
    StackConfig,
    venv_script,
)

ADMIN_URL = os.environ.get("POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = os.environ.get("DATABASE_NAME", "beauty_academy")


def say(message: str) -> None:
    sys.stdout.write(f"[make run] {message}\n")
    sys.stdout.flush()


def service_env(schema: str) -> dict[str, str]:
    host = ADMIN_URL.split("@", 1)[1].split("/", 1)[0]
    return {
        "ENVIRONMENT": os.environ.get("ENVIRONMENT", "development"),
        "DATABASE_URL": f"postgresql+asyncpg://academy_{schema}@{host}/{DATABASE}",
        "DB_SCHEMA": schema,
        "S3_ENDPOINT": os.environ.get("S3_ENDPOINT", "127.0.0.1:9000"),
    }


def migrate_all(envs: dict[str, dict[str, str]]) -> None:
    for service, *_ in SERVICES:
        result = subprocess.run(  # noqa: S603
            [venv_script(f"academy-{service}"), "migrate", "upgrade", "head"],
            env={**os.environ, **envs[service]},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"migrations of {service} failed:\n{result.stderr[-3000:]}")
        say(f"migrated {service}")


def load_demo_catalog(env: dict[str, str]) -> None:
    """The catalog's demo courses and communities; a re-run changes nothing that is already there."""
    result = subprocess.run(  # noqa: S603
        [venv_script("academy-catalog"), "demo-catalog"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"loading the demo catalog failed:\n{result.stderr[-3000:]}")
    say(f"demo catalog: {result.stdout.strip()}")


def check_ports_free(*, with_emulator: bool = True, with_yookassa_emulator: bool = True) -> None:
    taken = [p for _, _, api, metrics in SERVICES for p in (api, metrics) if port_open("127.0.0.1", p)]
    emulators = [(EMULATOR_PORT, with_emulator), (YOOKASSA_EMULATOR_PORT, with_yookassa_emulator)]
    taken += [port for port, wanted in emulators if wanted and port_open("127.0.0.1", port)]
    taken += [CONSOLE_PORT] if port_open("127.0.0.1", CONSOLE_PORT) else []
    if taken:
        raise SystemExit(f"ports already in use: {taken} (is another `make run` going?)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="academy-devstack")
    parser.add_argument("--log-dir", default=".run/logs")
    parser.add_argument("--check", action="store_true", help="start, verify readiness, then stop (smoke test)")
    args = parser.parse_args(argv)
    log_dir = Path(args.log_dir).resolve()
    log_dir.mkdir(parents=True, exist_ok=True)

    try:
        ensure_services(log=say)
    except InfrastructureError as exc:
        raise SystemExit(f"[make run] {exc}") from exc
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "")
    # YOOKASSA_API_URL in the environment: billing talks to that YooKassa, no emulator is started
    with_yookassa = not os.environ.get("YOOKASSA_API_URL")
    check_ports_free(with_emulator=not token, with_yookassa_emulator=with_yookassa)
    s3 = S3Server(log_dir=log_dir)
    s3.start()
    say(f"S3 API on {s3.endpoint} ({'moto, started here' if s3.process else 'already running'})")
    roles = asyncio.run(provision(ADMIN_URL, DATABASE))
    say(f"database {DATABASE}: schemas and roles {', '.join(roles.values())}")
    envs = {service: service_env(schema) for service, schema, *_ in SERVICES}
    for service, bus_env in provision_bus_users(log_dir.parent, say).items():
        envs[service].update(bus_env)
    migrate_all(envs)
    load_demo_catalog(envs["catalog"])

    # The console's `dev` account (every role): a password made for this run, unless one is given.
    console_password = os.environ.get("CONSOLE_DEV_PASSWORD") or secrets.token_urlsafe(12)
    config = StackConfig(
        env=envs,
        ports={service: (api, metrics) for service, _, api, metrics in SERVICES},
        emulator_port=EMULATOR_PORT,
        log_dir=log_dir,
        telegram_token=token or "123456:TEST-TOKEN",
        telegram_api_url=os.environ.get("TELEGRAM_API_URL", "") if token else None,
        with_emulator=not token,
        yookassa_port=YOOKASSA_EMULATOR_PORT,
        with_yookassa_emulator=with_yookassa,
        console_port=CONSOLE_PORT,
        console_env={
            "ENVIRONMENT": os.environ.get("ENVIRONMENT", "development"),
            "CONSOLE_DEV_PASSWORD": console_password,
        },
    )
    stack = Stack(config)
    stopping = {"flag": False}

    def request_stop(*_: object) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack.start()
        print_table(log_dir, with_emulator=not token, with_yookassa_emulator=with_yookassa)
        say(f"operators' console: http://127.0.0.1:{CONSOLE_PORT}  sign in as dev / {console_password}")
        if args.check:
            return
        # A process that dies is restarted with backoff and reported; the others keep running.
        stack.supervise(say)
        while not stopping["flag"]:
            time.sleep(0.2)
        say("stopping…")
    finally:
        stack.stop()
        s3.stop()
        say("stopped")


def print_table(log_dir: Path, *, with_emulator: bool, with_yookassa_emulator: bool = True) -> None:
    lines = ["", "Beauty Academy is running:"]
    for service, _, api, metrics in SERVICES:
        lines.append(
            f"  {service:<13} API http://127.0.0.1:{api}  (docs /docs, /readyz, /metrics)  worker metrics :{metrics}"
        )
    if with_emulator:
        lines += [
            f"  Telegram Bot API emulator http://127.0.0.1:{EMULATOR_PORT}  (bot token 123456:TEST-TOKEN)",
            "  talk to the bot as a learner:",
            (
                f"    curl -s -XPOST http://127.0.0.1:{EMULATOR_PORT}/_emulator/users/1001/messages "
                "-H 'content-type: application/json' -d '{\"text\": \"/start\"}'"
            ),
            f"    curl -s http://127.0.0.1:{EMULATOR_PORT}/_emulator/chats/1001/messages",
        ]
    else:
        lines.append("  the bot talks to Telegram (TELEGRAM_BOT_TOKEN is set)")
    billing_api = next(api for service, _, api, _ in SERVICES if service == "billing")
    if with_yookassa_emulator:
        yookassa = f"http://127.0.0.1:{YOOKASSA_EMULATOR_PORT}"
        lines += [
            (
                f"  YooKassa emulator {yookassa}/v3  (shop academy-dev-shop; notifications to "
                f"http://127.0.0.1:{billing_api}{YOOKASSA_WEBHOOK_PATH})"
            ),
            "  pay a top-up as a learner: open its confirmation URL, or",
            f"    curl -s {yookassa}/_emulator/payments",
            f"    curl -s -XPOST {yookassa}/_emulator/payments/<payment id>/succeed",
        ]
    else:
        lines.append("  billing talks to the YooKassa at YOOKASSA_API_URL")
    lines += [
        f"  logs: {log_dir}",
        "A process that dies is restarted (backoff 0.5 s doubling to 30 s); the others keep running.",
        "Press Ctrl-C to stop.",
        "",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
