"""The platform as local processes: every service's API and worker, the Bot API and YooKassa emulators.

Used by `make run` (fixed ports, the `beauty_academy` database) and by the end-to-end tests (free
ports, a database and broker namespace of their own).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from academy_yookassa_emulator.config import DEFAULT_SECRET_KEY, DEFAULT_SHOP_ID

from academy_devstack.supervisor import Report, RestartPolicy, Supervisor

# service name, schema, API port and worker metrics port under `make run`
SERVICES: tuple[tuple[str, str, int, int], ...] = (
    ("users", "users", 8101, 9101),
    ("catalog", "catalog", 8102, 9102),
    ("progress", "progress", 8103, 9103),
    ("gamification", "gamification", 8104, 9104),
    ("billing", "billing", 8105, 9105),
    ("gateway-bot", "gateway_bot", 8106, 9106),
)
CONSOLE_PORT = 8107
"""The operators' web console under `make run` (services/console)."""
EMULATOR_PORT = 8180
EMULATOR_TOKEN = "123456:TEST-TOKEN"  # noqa: S105 - the emulator's default bot
YOOKASSA_EMULATOR_PORT = 8181
#: Where billing takes YooKassa's notifications (billing's own API, no service token).
YOOKASSA_WEBHOOK_PATH = "/webhooks/yookassa"
#: Notifications come from the emulator on this machine; billing accepts only its trusted networks.
LOCAL_NETWORKS = '["127.0.0.1/32", "::1/128"]'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def venv_script(name: str) -> str:
    script = Path(sys.executable).with_name(name)
    if not script.exists():
        raise FileNotFoundError(f"{name} is not installed in {script.parent}; run `uv sync`")
    return str(script)


@dataclass
class Process:
    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    ready_url: str | None = None
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0  # time.monotonic() of the last start
    restarts: int = 0  # how many times the supervisor started it again

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(  # noqa: S603
            self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started_at = time.monotonic()
        log.close()

    @property
    def pid(self) -> int | None:
        """The running (or last) child's process id; None before the first start."""
        return self.popen.pid if self.popen is not None else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        assert self.popen is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class StackConfig:
    """Where the stack's processes find their infrastructure and how they are isolated."""

    env: dict[str, dict[str, str]]  # per service name: the environment (DATABASE_URL, prefixes, secrets...)
    ports: dict[str, tuple[int, int]]  # per service: (api port, worker metrics port)
    emulator_port: int
    log_dir: Path
    telegram_token: str = EMULATOR_TOKEN
    telegram_api_url: str | None = None  # None: the local emulator
    with_emulator: bool = True
    yookassa_port: int = field(default_factory=free_port)  # `make run`: 8181
    with_yookassa_emulator: bool = True  # False: billing keeps the YOOKASSA_* of its environment
    console_port: int | None = None  # the operators' console (`make run`: 8107); None: not started
    console_env: dict[str, str] = field(default_factory=dict)  # its OPERATOR_* settings, Redis prefix...


@dataclass
class Stack:
    config: StackConfig
    processes: list[Process] = field(default_factory=list)
    supervisor: Supervisor | None = None

    def api_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.config.ports[service][0]}"

    @property
    def console_url(self) -> str:
        """The operators' console; ValueError when this stack runs none."""
        if self.config.console_port is None:
            raise ValueError("this stack runs no console (StackConfig.console_port)")
        return f"http://127.0.0.1:{self.config.console_port}"

    def console_process_env(self) -> dict[str, str]:
        """The console's environment: every service's URL (USERS_URL, GATEWAY_BOT_URL...), its port, and
        `console_env` (operator accounts and key, Redis)."""
        env = {**os.environ, **self.config.console_env}
        env.update({f"{name.upper().replace('-', '_')}_URL": self.api_url(name) for name, *_ in SERVICES})
        env.update(
            {
                "SERVICE_NAME": "console",
                "HTTP_HOST": "127.0.0.1",
                "HTTP_PORT": str(self.config.console_port),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.config.emulator_port}"

    @property
    def yookassa_url(self) -> str:
        """The YooKassa emulator: its API under ``/v3``, the control API under ``/_emulator``."""
        return f"http://127.0.0.1:{self.config.yookassa_port}"

    @property
    def yookassa_notification_url(self) -> str:
        return f"{self.api_url('billing')}{YOOKASSA_WEBHOOK_PATH}"

    def telegram_env(self) -> dict[str, str]:
        """The bot's token and Bot API address: the gateway polls with them, billing refunds Stars with them."""
        api_url = self.emulator_url if self.config.telegram_api_url is None else self.config.telegram_api_url
        return {"TELEGRAM_BOT_TOKEN": self.config.telegram_token, "TELEGRAM_API_URL": api_url}

    def service_env(self, service: str) -> dict[str, str]:
        api_port, metrics_port = self.config.ports[service]
        env = {**os.environ, **self.config.env[service]}
        env.update(
            {
                "SERVICE_NAME": service,
                "HTTP_HOST": "127.0.0.1",
                "HTTP_PORT": str(api_port),
                "WORKER_METRICS_PORT": str(metrics_port),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if service == "gateway-bot":
            env.update({f"{name.upper().replace('-', '_')}_URL": self.api_url(name) for name, *_ in SERVICES})
            env.update(self.telegram_env())
        if service == "progress":
            env["USERS_URL"] = self.api_url("users")  # the learner's avatar on the transcript
        if service == "billing":
            env.update(self.telegram_env())
            env["USERS_URL"] = self.api_url("users")  # a receipt's phone
            if self.config.with_yookassa_emulator:
                env["YOOKASSA_API_URL"] = f"{self.yookassa_url}/v3"
                env["YOOKASSA_TRUSTED_NETWORKS"] = LOCAL_NETWORKS
        return env

    def emulator_processes(self) -> list[Process]:
        """The Bot API emulator and the YooKassa emulator (each unless switched off)."""
        log_dir = self.config.log_dir
        processes = []
        if self.config.with_emulator:
            processes.append(
                Process(
                    "tg-emulator",
                    [
                        venv_script("academy-tg-emulator"),
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(self.config.emulator_port),
                    ],
                    {**os.environ, "PYTHONUNBUFFERED": "1"},
                    log_dir / "tg-emulator.log",
                    ready_url=f"{self.emulator_url}/_emulator/health",
                )
            )
        if self.config.with_yookassa_emulator:
            # The shop's credentials are whatever billing is given (tests give it a key of their own).
            billing = self.service_env("billing")
            credentials = {
                "YOOKASSA_EMULATOR_SHOP_ID": billing.get("YOOKASSA_SHOP_ID", DEFAULT_SHOP_ID),
                "YOOKASSA_EMULATOR_SECRET_KEY": billing.get("YOOKASSA_SECRET_KEY", DEFAULT_SECRET_KEY),
            }
            processes.append(
                Process(
                    "yookassa-emulator",
                    [
                        venv_script("academy-yookassa-emulator"),
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(self.config.yookassa_port),
                        "--notification-url",
                        self.yookassa_notification_url,
                    ],
                    {**os.environ, **credentials, "PYTHONUNBUFFERED": "1"},
                    log_dir / "yookassa-emulator.log",
                    ready_url=f"{self.yookassa_url}/_emulator/health",
                )
            )
        return processes

    def start(self) -> None:
        log_dir = self.config.log_dir
        self.processes.extend(self.emulator_processes())
        for service, *_ in SERVICES:
            env = self.service_env(service)
            script = venv_script(f"academy-{service}")
            self.processes.append(
                Process(
                    f"{service}-api",
                    [script, "api"],
                    env,
                    log_dir / f"{service}-api.log",
                    ready_url=f"{self.api_url(service)}/readyz",
                )
            )
            self.processes.append(
                Process(
                    f"{service}-worker",
                    [script, "worker"],
                    env,
                    log_dir / f"{service}-worker.log",
                    # The worker's own probe: broker and database reachable, consumers connected.
                    ready_url=f"http://127.0.0.1:{self.config.ports[service][1]}/readyz",
                )
            )
        if self.config.console_port is not None:
            self.processes.append(
                Process(
                    "console",
                    [venv_script("academy-console")],
                    self.console_process_env(),
                    log_dir / "console.log",
                    ready_url=f"{self.console_url}/readyz",
                )
            )
        for process in self.processes:
            process.start()
        self.wait_ready()

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        pending = [p for p in self.processes if p.ready_url]
        with httpx.Client(timeout=2) as client:
            while pending:
                for process in list(pending):
                    if not process.alive():
                        raise RuntimeError(f"{process.name} exited during start-up:\n{process.tail()}")
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(process.ready_url or "").status_code == 200:  # noqa: PLR2004
                            pending.remove(process)
                if pending and time.monotonic() > deadline:
                    names = ", ".join(p.name for p in pending)
                    raise RuntimeError(f"not ready after {timeout}s: {names}\n{pending[0].tail()}")
                if pending:
                    time.sleep(0.3)
        for process in self.processes:
            if not process.alive():
                raise RuntimeError(f"{process.name} exited during start-up:\n{process.tail()}")

    def supervise(self, report: Report, policy: RestartPolicy | None = None) -> Supervisor:
        """Restart any of the started processes that dies (with backoff), reporting through `report`.

        Call after `start()`; `stop()` ends the supervision before it stops the processes.
        """
        self.supervisor = Supervisor(self.processes, report, policy or RestartPolicy()).start()
        return self.supervisor

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def restart(self, name: str) -> None:
        process = self.process(name)
        process.stop()
        process.start()
