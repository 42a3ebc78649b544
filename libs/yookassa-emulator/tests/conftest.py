"""One emulator and one notification receiver for the session; every test starts from a reset state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from academy_yookassa_emulator import (
    DEFAULT_SECRET_KEY,
    DEFAULT_SHOP_ID,
    YooKassaEmulatorClient,
    YooKassaEmulatorConfig,
    YooKassaEmulatorServer,
)
from academy_yookassa_emulator.testing import NotificationReceiver


@pytest.fixture(scope="session")
def receiver() -> Iterator[NotificationReceiver]:
    with NotificationReceiver() as server:
        yield server


@pytest.fixture(scope="session")
def emulator_server(receiver: NotificationReceiver) -> Iterator[YooKassaEmulatorServer]:
    config = YooKassaEmulatorConfig(
        notification_url=receiver.url,
        notification_max_attempts=4,
        notification_retry_initial_delay=0.05,
        notification_retry_max_delay=0.2,
        notification_timeout=2.0,
    )
    with YooKassaEmulatorServer(config) as server:
        yield server


@pytest.fixture(scope="session")
def base_url(emulator_server: YooKassaEmulatorServer) -> str:
    return emulator_server.base_url


@pytest.fixture
async def kassa(base_url: str, receiver: NotificationReceiver) -> AsyncIterator[YooKassaEmulatorClient]:
    async with YooKassaEmulatorClient(base_url) as client:
        await client.reset(full=True)
        receiver.clear()
        yield client


@pytest.fixture
async def api(base_url: str, kassa: YooKassaEmulatorClient) -> AsyncIterator[httpx.AsyncClient]:
    """The shop's side: ``/v3`` with the default credentials (``kassa`` first, so the state is reset)."""
    del kassa
    async with httpx.AsyncClient(
        base_url=f"{base_url}/v3", auth=(DEFAULT_SHOP_ID, DEFAULT_SECRET_KEY), trust_env=False, timeout=10
    ) as client:
        yield client


def payment_body(value: str = "500.00", **fields: Any) -> dict[str, Any]:
    """A top-up as billing creates it: redirect, capture, a receipt with the learner's phone, metadata."""
    body: dict[str, Any] = {
        "amount": {"value": value, "currency": "RUB"},
        "confirmation": {"type": "redirect", "return_url": "https://t.me/beauty_academy_bot"},
        "capture": True,
        "description": "Пополнение баланса: 500 монет",
        "metadata": {"payment_id": "12", "user_id": "1001"},
        "receipt": {
            "customer": {"phone": "79990001122"},
            "items": [
                {
                    "description": "Монеты Beauty Academy",
                    "quantity": "1.00",
                    "amount": {"value": value, "currency": "RUB"},
                    "vat_code": 1,
                    "payment_mode": "full_payment",
                    "payment_subject": "service",
                }
            ],
        },
    }
    body.update(fields)
    return body


async def create_payment(api: httpx.AsyncClient, key: str, **fields: Any) -> dict[str, Any]:
    response = await api.post("/payments", json=payment_body(**fields), headers={"Idempotence-Key": key})
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created
