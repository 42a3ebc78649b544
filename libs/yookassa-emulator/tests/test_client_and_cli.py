"""The client's look-ups and waits, reset, the in-process server and the CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from academy_yookassa_emulator import (
    DEFAULT_SECRET_KEY,
    DEFAULT_SHOP_ID,
    YooKassaEmulatorClient,
    YooKassaEmulatorConfig,
    run_in_background,
)
from academy_yookassa_emulator.__main__ import build_parser, config_from_args

from .conftest import create_payment

pytestmark = pytest.mark.timeout(60)


async def test_find_and_wait_for_a_payment_by_metadata(api: httpx.AsyncClient, kassa: YooKassaEmulatorClient) -> None:
    assert await kassa.find_payment(metadata={"payment_id": "12"}) is None
    first = await create_payment(api, str(uuid.uuid4()))
    second = await create_payment(api, str(uuid.uuid4()), metadata={"payment_id": "13", "user_id": "1001"})
    found = await kassa.wait_for_payment(metadata={"payment_id": "12"})
    assert found.id == first["id"]
    assert found.capture is True
    assert found.return_url == "https://t.me/beauty_academy_bot"
    assert found.receipt is not None
    assert found.receipt["customer"] == {"phone": "79990001122"}
    assert found.api == (await api.get(f"/payments/{first['id']}")).json()
    newest = await kassa.find_payment(metadata={"user_id": "1001"})
    assert newest is not None
    assert newest.id == second["id"]
    assert (await kassa.find_payment(metadata={"user_id": "1001"}, status="succeeded")) is None
    with pytest.raises(TimeoutError, match="no payment with metadata"):
        await kassa.wait_for_payment(metadata={"payment_id": "99"}, timeout=0.2)
    await kassa.pay(first["id"])
    assert [p.id for p in await kassa.payments(status="succeeded")] == [first["id"]]
    assert (await kassa.payment(first["id"])).paid is True
    with pytest.raises(TimeoutError, match="the log"):
        await kassa.wait_for_notifications(event="refund.succeeded", timeout=0.2)


async def test_reset_forgets_everything(api: httpx.AsyncClient, kassa: YooKassaEmulatorClient) -> None:
    payment = await create_payment(api, "reused-key")
    await kassa.pay(payment["id"])
    await kassa.set_faults(drop=3)
    await kassa.reset()
    assert await kassa.payments() == []
    assert await kassa.notifications() == []
    assert (await kassa.faults())["drop_next"] == 0
    again = await create_payment(api, "reused-key")  # keys are forgotten too
    assert again["id"] != payment["id"]
    health = await kassa.health()
    assert (health["ok"], health["shop_id"], health["payments"]) == (True, "academy-dev-shop", 1)


async def test_run_in_background_with_other_credentials() -> None:
    config = YooKassaEmulatorConfig(shop_id="other-shop", secret_key="s3cret", public_url="https://pay.example")
    with run_in_background(config=config) as url:
        async with httpx.AsyncClient(base_url=f"{url}/v3", trust_env=False) as http:
            refused = await http.get("/payments/x", auth=(DEFAULT_SHOP_ID, DEFAULT_SECRET_KEY))
            assert refused.status_code == 401
            body = {
                "amount": {"value": "100", "currency": "RUB"},
                "confirmation": {"type": "redirect", "return_url": "https://example.org"},
            }
            created = await http.post(
                "/payments", json=body, headers={"Idempotence-Key": "k"}, auth=("other-shop", "s3cret")
            )
            payment = created.json()
            assert payment["amount"]["value"] == "100.00"
            assert payment["confirmation"]["confirmation_url"] == f"https://pay.example/checkout/{payment['id']}"
            assert payment["metadata"] == {}


def test_cli_arguments_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YOOKASSA_EMULATOR_SHOP_ID", "env-shop")
    monkeypatch.setenv("YOOKASSA_EMULATOR_NOTIFICATION_URL", "http://127.0.0.1:1/env")
    args = build_parser().parse_args(["--notification-url", "http://127.0.0.1:8105/webhooks/yookassa"])
    config = config_from_args(args)
    assert (config.shop_id, config.notification_url) == ("env-shop", "http://127.0.0.1:8105/webhooks/yookassa")
    assert args.port == 8181


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_serves_the_api() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "academy_yookassa_emulator",
            "--port",
            str(port),
            "--notification-url",
            "http://127.0.0.1:9/hook",
            "--log-level",
            "warning",
        ],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/_emulator/health", trust_env=False).json()
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the CLI did not start"
                time.sleep(0.1)
        assert health["notification_url"] == "http://127.0.0.1:9/hook"
        refused = httpx.get(f"http://127.0.0.1:{port}/v3/payments/x", trust_env=False)
        assert refused.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=15)
