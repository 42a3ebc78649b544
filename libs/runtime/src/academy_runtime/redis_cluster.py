"""A local Redis Cluster started from the machine's `redis-server`: the cluster tests' and a developer's.

    uv run --frozen python -m academy_runtime.redis_cluster up [--dir DIR] [--nodes 3]   # prints its URL
    uv run --frozen python -m academy_runtime.redis_cluster down --dir DIR

(`scripts/redis-cluster.sh up|down` wraps both.) `up` starts `--nodes` primaries (three by default, no
replicas) on free ports of 127.0.0.1, each with `--cluster-enabled yes`, its files in DIR (a new temporary
directory by default), joins them with `redis-cli --cluster create ... --cluster-replicas 0 --cluster-yes`,
waits until every node reports `cluster_state:ok`, and prints the URL of the first node: with
`REDIS_CLUSTER=true REDIS_URL=<it>` the platform runs against the cluster. Nothing is persisted (no RDB,
no AOF); `down` stops the nodes and removes DIR.

In tests, `academy_runtime.testing`'s `redis_cluster_url` fixture starts one per pytest session (or takes
`TEST_REDIS_CLUSTER_URL`), and skips only when `redis-server` is not installed.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

_BUS_PORT_OFFSET = 10000  # a cluster node also listens on port + 10000 (the cluster bus)
_PIDS = "pids"
_SLOTS = 16384
_CREATE_OPTIONS = ("--cluster-replicas", "0", "--cluster-yes")
_MAX_PORT = 65535
_PR_SET_PDEATHSIG = 1


class RedisClusterUnavailableError(RuntimeError):
    """`redis-server` or `redis-cli` is not installed: a local cluster cannot be started."""


@dataclass(frozen=True)
class LocalRedisCluster:
    """Nodes of a cluster this process (or an earlier `up`) started; `stop()` ends them."""

    directory: Path
    ports: tuple[int, ...]
    pids: tuple[int, ...]

    @property
    def url(self) -> str:
        """The first node's URL (any node will do: the client discovers the others)."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL after 5 s) and remove the files the cluster made (and the
        directory, once empty)."""
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for pid in self.pids:
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        # Only what `start_local_cluster` made there: each node's directory and log, and the pids file.
        for port in self.ports:
            shutil.rmtree(self.directory / str(port), ignore_errors=True)
            (self.directory / f"{port}.log").unlink(missing_ok=True)
        (self.directory / _PIDS).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty: someone else's files stay
            self.directory.rmdir()


def _alive(pid: int) -> bool:
    # Our own children are reaped here (a zombie would look alive to kill(pid, 0)).
    with contextlib.suppress(ChildProcessError):
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the starting process dies, however (Linux's PR_SET_PDEATHSIG),
    so an aborted test run leaves no nodes behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def binaries() -> tuple[str, str]:
    """(redis-server, redis-cli) on PATH; RedisClusterUnavailableError naming what is missing."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        missing = " and ".join(name for name, path in (("redis-server", server), ("redis-cli", cli)) if path is None)
        raise RedisClusterUnavailableError(
            f"{missing} not installed (Debian: apt-get install redis-server); set TEST_REDIS_CLUSTER_URL to use "
            "a running cluster instead"
        )
    return server, cli


def _free_ports(count: int) -> list[int]:
    """`count` ports free on 127.0.0.1 whose cluster-bus port (+10000) is free as well."""
    ports: list[int] = []
    held: list[socket.socket] = []
    try:
        while len(ports) < count:
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
            held.append(probe)
            if port + _BUS_PORT_OFFSET > _MAX_PORT or port in ports:
                continue
            with socket.socket() as bus:
                try:
                    bus.bind(("127.0.0.1", port + _BUS_PORT_OFFSET))
                except OSError:
                    continue
            ports.append(port)
    finally:
        for probe in held:
            probe.close()
    return ports


def _wait_for(predicate_name: str, check: Callable[[], object], timeout_s: float, logs: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(RedisError, OSError):
            if check():
                return
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in sorted(logs.glob("*.log")))
            raise RuntimeError(f"local Redis Cluster: {predicate_name} within {timeout_s} s\n{tails}")
        time.sleep(0.05)


def start_local_cluster(
    directory: Path | None = None, *, nodes: int = 3, timeout_s: float = 30, detach: bool = False
) -> LocalRedisCluster:
    """Start `nodes` primaries and join them into one cluster covering all 16384 slots (see the module
    docstring). On a failure the nodes started so far are stopped before the error is raised. `detach`:
    the nodes leave this process's session (`up`, which exits while they run); otherwise a signal to the
    caller's process group (a test run interrupted) ends them too."""
    server, cli = binaries()
    directory = Path(tempfile.mkdtemp(prefix="academy-redis-cluster-")) if directory is None else directory
    if directory.exists() and any(directory.iterdir()):
        raise FileExistsError(f"{directory} is not empty: the cluster's files go in a new or empty directory")
    directory.mkdir(parents=True, exist_ok=True)
    ports = _free_ports(nodes)
    pids: list[int] = []
    try:
        for port in ports:
            node_dir = directory / str(port)
            node_dir.mkdir(exist_ok=True)
            log = (directory / f"{port}.log").open("ab")
            process = subprocess.Popen(  # noqa: S603 - fixed arguments, the installed redis-server
                [
                    server,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    str(node_dir / "nodes.conf"),
                    "--cluster-node-timeout",
                    "5000",
                    "--dir",
                    str(node_dir),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=detach,
                preexec_fn=None if detach else _die_with_parent,  # noqa: PLW1509 - prctl only, no locks
            )
            log.close()
            pids.append(process.pid)
        (directory / _PIDS).write_text("".join(f"{port} {pid}\n" for port, pid in zip(ports, pids, strict=True)))
        for port in ports:
            _wait_for(f"node {port} answering PING", partial(_ping, port), timeout_s, directory)
        created = subprocess.run(  # noqa: S603
            [cli, "--cluster", "create", *(f"127.0.0.1:{port}" for port in ports), *_CREATE_OPTIONS],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if created.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed:\n{created.stdout}\n{created.stderr}")  # noqa: TRY301
        for port in ports:
            _wait_for(f"node {port} reporting cluster_state:ok", partial(_cluster_ok, port), timeout_s, directory)
    except BaseException:
        LocalRedisCluster(directory, tuple(ports), tuple(pids)).stop()
        raise
    return LocalRedisCluster(directory, tuple(ports), tuple(pids))


def _client(port: int) -> Redis:
    return Redis(host="127.0.0.1", port=port, socket_timeout=2, socket_connect_timeout=2)


def _ping(port: int) -> bool:
    with _client(port) as client:
        return bool(client.ping())


def _cluster_ok(port: int) -> bool:
    with _client(port) as client:
        info = client.execute_command("CLUSTER INFO")  # parsed into a dict of str by redis-py
    return bool(info.get("cluster_state") == "ok" and str(info.get("cluster_slots_assigned")) == str(_SLOTS))


def running_cluster(directory: Path) -> LocalRedisCluster:
    """The cluster an earlier `up` left in `directory` (its `pids` file)."""
    entries = [line.split() for line in (directory / _PIDS).read_text().splitlines() if line.strip()]
    return LocalRedisCluster(directory, tuple(int(port) for port, _ in entries), tuple(int(pid) for _, pid in entries))


@contextlib.contextmanager
def local_cluster(nodes: int = 3) -> Iterator[LocalRedisCluster]:
    """A cluster for the duration of the block."""
    cluster = start_local_cluster(nodes=nodes)
    try:
        yield cluster
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m academy_runtime.redis_cluster", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start a cluster and print its URL")
    up.add_argument("--dir", type=Path, help="where the nodes keep their files (default: a new temporary directory)")
    up.add_argument("--nodes", type=int, default=3)
    down = commands.add_parser("down", help="stop the cluster `up` started in --dir and remove the directory")
    down.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "up":
        try:
            cluster = start_local_cluster(args.dir, nodes=args.nodes, detach=True)
        except RedisClusterUnavailableError as exc:
            print(exc, file=sys.stderr)  # noqa: T201 - a command-line tool's output
            return 2
        print(f"REDIS_CLUSTER=true REDIS_URL={cluster.url}")  # noqa: T201
        print(f"# stop it with: python -m academy_runtime.redis_cluster down --dir {cluster.directory}")  # noqa: T201
        return 0
    running_cluster(args.dir).stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
