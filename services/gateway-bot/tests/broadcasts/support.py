"""Helpers of the broadcast tests (plain functions; the fixtures are in conftest.py)."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from academy_gateway_bot.bot import BotRuntime
from academy_gateway_bot.broadcasts.delivery import BroadcastDelivery, DeliveryPolicy
from academy_gateway_bot.models import BroadcastRecipient
from academy_runtime.resources import Resources
from sqlalchemy import select

NO_QUIET_HOURS = DeliveryPolicy(quiet_start_hour=0, quiet_end_hour=0, concurrency=8)


def unique_city() -> str:
    return f"Тестоград-{secrets.token_hex(3)}"


def delivery_for(
    resources: Resources, runtime: BotRuntime, policy: DeliveryPolicy = NO_QUIET_HOURS, **kwargs: Any
) -> BroadcastDelivery:
    return BroadcastDelivery(resources.sessionmaker, runtime.sender, runtime.clients, policy, **kwargs)


async def drain(delivery: BroadcastDelivery, broadcast_id: int, *, rounds: int = 20) -> None:
    """Work on the broadcast until a round does nothing (it finished, waits, or is not sending)."""
    for _ in range(rounds):
        if not await delivery.work_on(broadcast_id):
            return


async def recipients(resources: Resources, broadcast_id: int) -> dict[int, BroadcastRecipient]:
    async with resources.sessionmaker() as session:
        rows = await session.execute(select(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast_id))
        return {row.user_id: row for row in rows.scalars()}


async def create(broadcaster: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"text_ru": "<b>Привет!</b> Новый курс", "segment": {"kind": "everyone"}} | fields
    response = await broadcaster.post("/internal/broadcasts", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def start(broadcaster: httpx.AsyncClient, broadcast_id: int) -> dict[str, Any]:
    response = await broadcaster.post(f"/internal/broadcasts/{broadcast_id}/send")
    assert response.status_code == 200, response.text
    sent: dict[str, Any] = response.json()
    return sent
