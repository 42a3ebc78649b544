"""The stack's console: started only when asked, pointed at every service of the stack."""

from __future__ import annotations

from pathlib import Path

import pytest
from academy_devstack.stack import SERVICES, Stack, StackConfig, free_port

pytestmark = pytest.mark.timeout(60)


def make_stack(tmp_path: Path, **overrides: object) -> Stack:
    config = StackConfig(
        env={name: {} for name, *_ in SERVICES},
        ports={name: (free_port(), free_port()) for name, *_ in SERVICES},
        emulator_port=free_port(),
        log_dir=tmp_path,
    )
    for name, value in overrides.items():
        setattr(config, name, value)
    return Stack(config)


def test_the_console_calls_every_service_of_the_stack_on_its_own_port(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, console_port=18107, console_env={"CONSOLE_DEV_PASSWORD": "a run's password"})
    env = stack.console_process_env()
    assert stack.console_url == "http://127.0.0.1:18107"
    assert (env["HTTP_PORT"], env["SERVICE_NAME"]) == ("18107", "console")
    assert env["CONSOLE_DEV_PASSWORD"] == "a run's password"
    for name, *_ in SERVICES:
        assert env[f"{name.upper().replace('-', '_')}_URL"] == stack.api_url(name)


def test_a_stack_without_a_console_port_runs_no_console(tmp_path: Path) -> None:
    stack = make_stack(tmp_path)
    with pytest.raises(ValueError, match="no console"):
        _ = stack.console_url
