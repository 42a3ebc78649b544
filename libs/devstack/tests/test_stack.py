"""The stack's wiring: billing's environment and the emulators it starts (without the services)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
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


def test_billing_gets_the_yookassa_emulator_and_the_gateways_telegram_settings(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, yookassa_port=18181)
    billing, gateway = stack.service_env("billing"), stack.service_env("gateway-bot")
    assert billing["YOOKASSA_API_URL"] == "http://127.0.0.1:18181/v3"
    assert json.loads(billing["YOOKASSA_TRUSTED_NETWORKS"]) == ["127.0.0.1/32", "::1/128"]
    assert billing["TELEGRAM_BOT_TOKEN"] == gateway["TELEGRAM_BOT_TOKEN"] == "123456:TEST-TOKEN"
    assert billing["TELEGRAM_API_URL"] == gateway["TELEGRAM_API_URL"] == stack.emulator_url
    assert stack.yookassa_url == "http://127.0.0.1:18181"
    # Billing asks the users service for a receipt's phone, wherever the stack put it.
    assert billing["USERS_URL"] == gateway["USERS_URL"] == stack.api_url("users")
    # Progress asks it for the learner's avatar on a transcript.
    assert stack.service_env("progress")["USERS_URL"] == stack.api_url("users")
    assert stack.yookassa_notification_url == f"{stack.api_url('billing')}/webhooks/yookassa"
    assert "YOOKASSA_API_URL" not in stack.service_env("users")

    real = make_stack(
        tmp_path, with_yookassa_emulator=False, telegram_token="1:REAL", telegram_api_url="https://api.telegram.org"
    )
    billing = real.service_env("billing")
    assert billing.get("YOOKASSA_API_URL") == os.environ.get("YOOKASSA_API_URL")
    assert (billing["TELEGRAM_BOT_TOKEN"], billing["TELEGRAM_API_URL"]) == ("1:REAL", "https://api.telegram.org")
    assert [p.name for p in real.emulator_processes()] == ["tg-emulator"]


async def test_the_emulators_start_and_yookassa_notifies_billing(tmp_path: Path) -> None:
    stack = make_stack(tmp_path)
    stack.config.env["billing"]["YOOKASSA_SECRET_KEY"] = "e2e-run-key"  # as the e2e platform does
    stack.processes.extend(stack.emulator_processes())
    assert [p.name for p in stack.processes] == ["tg-emulator", "yookassa-emulator"]
    try:
        for process in stack.processes:
            process.start()
        stack.wait_ready(timeout=30)
        async with httpx.AsyncClient(trust_env=False) as http:
            health = (await http.get(f"{stack.yookassa_url}/_emulator/health")).json()
            assert health["notification_url"] == f"{stack.api_url('billing')}/webhooks/yookassa"
            api_url = stack.service_env("billing")["YOOKASSA_API_URL"]
            refused = await http.get(f"{api_url}/payments/x")
            assert refused.status_code == 401
            with_billings_key = await http.get(f"{api_url}/payments/x", auth=("academy-dev-shop", "e2e-run-key"))
            assert with_billings_key.status_code == 404
            assert (await http.get(f"{stack.emulator_url}/_emulator/health")).json()["ok"] is True
    finally:
        stack.stop()


# The console: started only when asked, pointed at every service of the stack.
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
