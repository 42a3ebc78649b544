"""The supervisor restarts a dead process with backoff, reports it, and leaves the others running."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
from academy_devstack.stack import Process
from academy_devstack.supervisor import RestartPolicy, Supervisor

pytestmark = pytest.mark.timeout(60)


def python_process(tmp_path: Path, name: str, code: str) -> Process:
    return Process(name, [sys.executable, "-c", code], dict(os.environ), tmp_path / f"{name}.log")


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


def test_the_delay_doubles_up_to_its_cap() -> None:
    policy = RestartPolicy(initial_delay_s=0.5, factor=2, max_delay_s=30)
    assert [policy.delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_a_killed_process_comes_back_and_the_others_keep_running(tmp_path: Path) -> None:
    victim = python_process(tmp_path, "victim", "import time; time.sleep(60)")
    bystander = python_process(tmp_path, "bystander", "import time; time.sleep(60)")
    lines: list[str] = []
    for process in (victim, bystander):
        process.start()
    supervisor = Supervisor([victim, bystander], lines.append, RestartPolicy(initial_delay_s=0.1)).start()
    try:
        first_pid, bystander_pid = victim.pid, bystander.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        wait_for(lambda: victim.alive() and victim.pid != first_pid)
        assert bystander.alive()
        assert bystander.pid == bystander_pid
        [restart] = supervisor.restarts_of("victim")
        assert restart.cause == "signal SIGKILL"
        assert restart.restarted_at is not None
        assert restart.restarted_at - restart.died_at >= 0.1
        assert any("victim died (signal SIGKILL)" in line and "restart #1 in 0.1 s" in line for line in lines)
        assert any(line.startswith("victim restarted (restart #1") for line in lines)
        assert supervisor.restarts_of("bystander") == []
    finally:
        supervisor.stop()
        for process in (victim, bystander):
            process.stop()


def test_a_crash_loop_backs_off_and_stopping_the_supervisor_stops_the_restarts(tmp_path: Path) -> None:
    crasher = python_process(tmp_path, "crasher", "raise SystemExit(3)")
    lines: list[str] = []
    crasher.start()
    policy = RestartPolicy(initial_delay_s=0.1, factor=2, max_delay_s=0.4, reset_after_s=30)
    supervisor = Supervisor([crasher], lines.append, policy, poll_interval_s=0.02).start()
    try:
        wait_for(lambda: len(supervisor.restarts_of("crasher")) >= 5)
    finally:
        supervisor.stop()
    restarts = supervisor.restarts_of("crasher")
    assert {r.cause for r in restarts} == {"exit code 3"}
    waits = [r.restarted_at - r.died_at for r in restarts[:4] if r.restarted_at is not None]
    # 0.1, 0.2, 0.4, 0.4 (capped), each give or take a poll
    for waited, expected in zip(waits, [0.1, 0.2, 0.4, 0.4], strict=True):
        assert expected <= waited < expected + 0.15
    count = crasher.restarts
    time.sleep(0.6)
    assert crasher.restarts == count  # nothing is restarted once supervision has stopped


def test_a_process_that_stayed_up_long_enough_starts_again_from_the_first_delay(tmp_path: Path) -> None:
    process = python_process(tmp_path, "flaky", "import time; time.sleep(0.5); raise SystemExit(1)")
    process.start()
    policy = RestartPolicy(initial_delay_s=0.1, factor=10, max_delay_s=5, reset_after_s=0.3)
    supervisor = Supervisor([process], lambda _: None, policy, poll_interval_s=0.02).start()
    try:
        wait_for(lambda: len(supervisor.restarts_of("flaky")) >= 3)
    finally:
        supervisor.stop()
        process.stop()
    waits = [r.restarted_at - r.died_at for r in supervisor.restarts_of("flaky")[:2] if r.restarted_at]
    # it ran 0.5 s > reset_after_s each time: every restart is a first one (0.1 s, not 1 s, 10 s)
    assert all(0.1 <= waited < 0.3 for waited in waits)
