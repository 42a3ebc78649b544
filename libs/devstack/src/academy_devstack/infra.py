"""Make sure PostgreSQL, RabbitMQ, Redis and an S3 server answer; start the ones installed but stopped.

On this project's machines the three servers come from Debian packages and an S3 server from PyPI
(moto); in compose and Kubernetes they are containers. What cannot be started is reported with the
command that would install it.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast


class InfrastructureError(RuntimeError):
    pass


@dataclass(frozen=True)
class Dependency:
    name: str
    host: str
    port: int
    binary: str
    start: tuple[str, ...]
    install_hint: str


def _postgres_start() -> tuple[str, ...]:
    root = Path("/etc/postgresql")
    versions = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    version = versions[-1] if versions else "15"
    return ("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start")


DEPENDENCIES = (
    Dependency(
        "PostgreSQL",
        "127.0.0.1",
        5432,
        "pg_ctlcluster",
        _postgres_start(),
        "apt-get install -y postgresql (trust auth for 127.0.0.1, or set TEST_POSTGRES_ADMIN_URL)",
    ),
    Dependency(
        "Redis",
        "127.0.0.1",
        6379,
        "redis-server",
        (
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "-::1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ),
        "apt-get install -y redis-server",
    ),
    Dependency(
        "RabbitMQ",
        "127.0.0.1",
        5672,
        "rabbitmq-server",
        ("rabbitmq-server", "-detached"),
        "apt-get install -y rabbitmq-server",
    ),
)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return True
        time.sleep(0.25)
    return False


def ensure_dependency(dep: Dependency, log: object = print) -> None:
    if port_open(dep.host, dep.port):
        return
    if shutil.which(dep.binary) is None:
        raise InfrastructureError(
            f"{dep.name} is not running on {dep.host}:{dep.port} and not installed: {dep.install_hint}"
        )
    log(f"starting {dep.name} ({' '.join(dep.start)})")  # type: ignore[operator]
    subprocess.run(dep.start, check=False, capture_output=True, timeout=120)  # noqa: S603
    if not wait_for_port(dep.host, dep.port, 90):
        raise InfrastructureError(f"{dep.name} did not come up on {dep.host}:{dep.port} after `{' '.join(dep.start)}`")


MANAGEMENT_PORT = 15672


def enable_rabbitmq_management(log: object = print) -> bool:
    """Enable the local broker's management plugin (the HTTP API `academy-platform provision-bus
    --management-url` and its tests use), when `rabbitmq-plugins` is installed and may talk to the node.
    Idempotent; never fails: says why not and returns whether the API answers on 127.0.0.1:15672."""
    if port_open("127.0.0.1", MANAGEMENT_PORT):
        return True
    say = cast("Callable[[str], object]", log)
    if shutil.which("rabbitmq-plugins") is None:
        say("rabbitmq-plugins is not installed: no RabbitMQ management API (its tests skip)")
        return False
    try:
        result = subprocess.run(
            ["rabbitmq-plugins", "enable", "rabbitmq_management"],  # noqa: S607
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        say(f"could not enable the RabbitMQ management plugin: {exc!r} (its tests skip)")
        return False
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        say(f"could not enable the RabbitMQ management plugin: {reason[0][:300]} (its tests skip)")
        return False
    up = wait_for_port("127.0.0.1", MANAGEMENT_PORT, 30)
    say(
        "enabled the RabbitMQ management plugin (rabbitmq-plugins enable rabbitmq_management): "
        + ("its API answers on 127.0.0.1:15672" if up else "but nothing answers on 127.0.0.1:15672 yet")
    )
    return up


# Connections the test suites and `make run` may hold at once: every service process and in-process test
# app has a pool (DB_POOL_SIZE 10 + DB_MAX_OVERFLOW 10), the end-to-end stack runs twelve processes, and
# PostgreSQL's default of 100 was seen exhausted ("remaining connection slots are reserved") when a
# `make run` and a `make test` shared a machine.
MIN_POSTGRES_CONNECTIONS = 300


def _postgres_cluster() -> tuple[str, str] | None:
    """(version, cluster) of the local Debian cluster `pg_ctlcluster` manages, or None."""
    root = Path("/etc/postgresql")
    versions = sorted(p.name for p in root.iterdir() if (p / "main").is_dir()) if root.is_dir() else []
    return (versions[-1], "main") if versions else None


def raise_postgres_connections(log: object = print, minimum: int = MIN_POSTGRES_CONNECTIONS) -> bool:
    """Make the local PostgreSQL accept at least `minimum` connections: `ALTER SYSTEM SET max_connections`
    and a restart of the local cluster (a setting PostgreSQL reads only at start), once per machine.
    Only a local Debian cluster reached as superuser over trust auth is changed; any other server is
    left as it is, with a warning. Never fails; returns whether the server now allows `minimum`."""
    say = cast("Callable[[str], object]", log)
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atc"]
    try:
        current = subprocess.run(  # noqa: S603
            [*psql, "SHOW max_connections"], check=True, capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        say(f"could not read PostgreSQL's max_connections ({exc!r}); tests may run out of connections")
        return False
    if current.isdigit() and int(current) >= minimum:
        return True
    cluster = _postgres_cluster()
    if cluster is None or shutil.which("pg_ctlcluster") is None:
        say(f"PostgreSQL allows {current} connections (< {minimum}) and is not a local cluster: tests may run out")
        return False
    try:
        subprocess.run(  # noqa: S603
            [*psql, f"ALTER SYSTEM SET max_connections = {minimum}"], check=True, capture_output=True, timeout=30
        )
        subprocess.run(  # noqa: S603
            ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "restart"],  # noqa: S607
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        say(f"could not raise PostgreSQL's max_connections from {current} to {minimum}: {exc!r}")
        return False
    up = wait_for_port("127.0.0.1", 5432, 60)
    where = "/".join(cluster)
    say(f"raised PostgreSQL's max_connections from {current} to {minimum} (ALTER SYSTEM; cluster {where} restarted)")
    return up


def ensure_services(log: object = print) -> None:
    for dep in DEPENDENCIES:
        ensure_dependency(dep, log)
    enable_rabbitmq_management(log)
    raise_postgres_connections(log)


class S3Server:
    """An S3 API on host:port: an existing one is used as is, otherwise moto's server is started."""

    def __init__(self, host: str = "127.0.0.1", port: int = 9000, log_dir: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        if port_open(self.host, self.port):
            return
        moto = Path(sys.executable).with_name("moto_server")
        command = [str(moto)] if moto.exists() else [sys.executable, "-m", "moto.server"]
        out = open(self.log_dir / "s3.log", "ab") if self.log_dir else subprocess.DEVNULL  # noqa: SIM115, PTH123
        self.process = subprocess.Popen(  # noqa: S603
            [*command, "-H", self.host, "-p", str(self.port)], stdout=out, stderr=subprocess.STDOUT
        )
        if not wait_for_port(self.host, self.port, 30):
            self.stop()
            raise InfrastructureError(f"the S3 server (moto) did not start on {self.endpoint}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
            if self.process.poll() is None:
                self.process.kill()
            self.process = None


def main() -> None:
    """`python -m academy_devstack.infra`: start what is installed but stopped, or say what is missing."""
    try:
        ensure_services(log=lambda message: print(f"[bootstrap] {message}"))  # noqa: T201
    except InfrastructureError as exc:
        raise SystemExit(f"[bootstrap] {exc}") from exc


if __name__ == "__main__":
    main()
