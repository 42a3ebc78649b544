"""Keeps the stack's processes running: a process that dies is restarted with backoff, the others go on.

`make run` and the end-to-end tests start every API, worker and emulator as a child process. Before
this, the first one to die stopped the whole platform. Now a watcher thread polls the children; when
one exits it reports which one, its exit code or signal and how long it ran, waits
`RestartPolicy.delay(n)` seconds (exponential, capped) and starts it again. A process that stayed up
for `RestartPolicy.reset_after_s` counts as healthy again: its next crash starts from the first delay.

Neither `tenacity` nor `backoff` is a dependency of the workspace, and a retry decorator does not fit
a loop that watches many processes at once; the delay is one line (`RestartPolicy.delay`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from academy_devstack.stack import Process

Report = Callable[[str], None]


@dataclass(frozen=True)
class RestartPolicy:
    """How soon a dead process is started again.

    The n-th restart in a row (n = 1, 2, ...) waits `initial_delay_s * factor**(n-1)` seconds, at most
    `max_delay_s`. A process that has run for `reset_after_s` seconds since its last start is
    considered recovered, and its count of restarts in a row goes back to 0.
    """

    initial_delay_s: float = 0.5
    factor: float = 2.0
    max_delay_s: float = 30.0
    reset_after_s: float = 60.0

    def delay(self, restarts_in_a_row: int) -> float:
        """Seconds to wait before restart number `restarts_in_a_row` (>= 1) of an unbroken series."""
        exponent = max(restarts_in_a_row, 1) - 1
        return float(min(self.max_delay_s, self.initial_delay_s * self.factor**exponent))


@dataclass
class Restart:
    """One recovery, as the supervisor saw it (times are `time.monotonic()` seconds)."""

    process: str
    exit_code: int | None  # negative: killed by that signal (subprocess convention)
    died_at: float  # when the supervisor noticed the exit
    restarted_at: float | None = None  # when the new process was started
    ready_at: float | None = None  # when its readiness URL first answered 200 (None: it has none)

    @property
    def cause(self) -> str:
        """`exit code 3`, `signal SIGKILL` or `unknown`."""
        if self.exit_code is None:
            return "unknown"
        if self.exit_code < 0:
            with contextlib.suppress(ValueError):
                return f"signal {signal.Signals(-self.exit_code).name}"
            return f"signal {-self.exit_code}"
        return f"exit code {self.exit_code}"


@dataclass
class _Watch:
    process: Process
    in_a_row: int = 0
    restart_due: float | None = None
    pending: Restart | None = None


@dataclass
class Supervisor:
    """Watches `processes` from a daemon thread and restarts those that die (see the module's doc).

    `report` receives one line per event (a death, a restart, readiness regained). `history` keeps
    every `Restart`, for tests and for the recovery times that `make run` prints.
    """

    processes: list[Process]
    report: Report
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    poll_interval_s: float = 0.2
    history: list[Restart] = field(default_factory=list)
    _thread: threading.Thread | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Supervisor:
        """Begin watching; the processes must already be running."""
        self._thread = threading.Thread(target=self._watch, name="devstack-supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching (nothing is restarted after this returns); the processes keep running."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def restarts_of(self, name: str) -> list[Restart]:
        """Every recorded restart of the process called `name`, oldest first."""
        with self._lock:
            return [r for r in self.history if r.process == name]

    # -- the watcher thread ----------------------------------------------------------------------
    def _watch(self) -> None:
        watches = [_Watch(p) for p in self.processes]
        with httpx.Client(timeout=1, trust_env=False) as http:
            while not self._stopping.wait(self.poll_interval_s):
                now = time.monotonic()
                for watch in watches:
                    self._check(watch, now, http)

    def _check(self, watch: _Watch, now: float, http: httpx.Client) -> None:
        process = watch.process
        if watch.restart_due is None and not process.alive():
            uptime = now - process.started_at
            if uptime >= self.policy.reset_after_s:
                watch.in_a_row = 0
            watch.in_a_row += 1
            delay = self.policy.delay(watch.in_a_row)
            code = process.popen.returncode if process.popen is not None else None
            restart = Restart(process.name, code, died_at=now)
            with self._lock:
                self.history.append(restart)
            watch.pending, watch.restart_due = restart, now + delay
            self.report(
                f"{process.name} died ({restart.cause}) after {uptime:.1f} s; "
                f"restart #{process.restarts + 1} in {delay:.1f} s (log: {process.log_path})"
            )
        elif watch.restart_due is not None and now >= watch.restart_due:
            watch.restart_due = None
            process.restarts += 1
            process.start()
            if watch.pending is not None:
                watch.pending.restarted_at = time.monotonic()
            self.report(f"{process.name} restarted (restart #{process.restarts}, pid {process.pid})")
            if process.ready_url is None and watch.pending is not None:
                watch.pending = None
        elif watch.pending is not None and watch.pending.restarted_at is not None and process.alive():
            # An API or an emulator: recovered once it answers its readiness URL again.
            with contextlib.suppress(httpx.HTTPError):
                if http.get(process.ready_url or "").status_code == 200:  # noqa: PLR2004
                    watch.pending.ready_at = time.monotonic()
                    self.report(
                        f"{process.name} ready again {watch.pending.ready_at - watch.pending.died_at:.1f} s "
                        "after it died"
                    )
                    watch.pending = None
