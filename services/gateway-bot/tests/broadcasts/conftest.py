"""What the broadcast tests share: an operator with the role `broadcaster` on the gateway's API, learners in
the users service, the gateway's projection and the Bot API emulator, and a delivery to drive by hand."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from academy_gateway_bot.bot import BotRuntime
from academy_gateway_bot.learners import LearnerRepository
from academy_gateway_bot.models import Learner
from academy_runtime.db import transaction
from academy_runtime.resources import Resources
from academy_runtime.service import ServiceDefinition
from academy_runtime.testing import TestPlatform, api_client, operator_token
from academy_tg_emulator.client import EmulatorClient, TestUser
from sqlalchemy import update


@pytest.fixture
async def broadcaster(
    service: ServiceDefinition, resources: Resources, platform: TestPlatform, bot_runtime: BotRuntime
) -> AsyncIterator[httpx.AsyncClient]:
    """Olga, an operator with the role `broadcaster`, on the gateway's API (the bot runtime open: previews)."""
    del bot_runtime
    token = operator_token(platform, name="olga", roles=("broadcaster",), audience="gateway-bot")
    async with api_client(service, resources, token) as client:
        yield client


@dataclass(frozen=True)
class Recipient:
    """A test learner: their user id, Telegram chat and language."""

    user_id: int
    chat_id: int
    locale: str


@pytest.fixture
def make_learner(resources: Resources, bot_runtime: BotRuntime, tg: EmulatorClient) -> Callable[..., Any]:
    """A learner registered with users (in `city`), known to the gateway's projection, whose chat with the
    bot exists in the emulator; `blocked` (the projection knows) and `announcements` as given."""

    async def make(
        city: str,
        *,
        locale: str = "ru",
        time_zone: str | None = "Europe/Moscow",
        blocked: bool = False,
        announcements: bool = True,
    ) -> Recipient:
        user = TestUser.new("Анна", language_code=locale)
        await tg.open_chats([user.id], language_code=locale)
        registered = await bot_runtime.clients.users.post(
            "/internal/users/register",
            json={
                "telegram_id": user.id,
                "locale": locale,
                "full_name": "Анна Смирнова",
                "phone": f"+7916{secrets.randbelow(10**7):07d}",
                "city": city,
                "consent": {"version": "2025-01", "accepted_at": datetime.now(UTC).isoformat()},
            },
            idempotency_key=f"register-{secrets.token_hex(6)}",
        )
        user_id = int(registered["learner"]["id"])
        async with transaction(resources.sessionmaker) as session:
            # A revision far above users' own: the registration's event, if a consumer runs, changes nothing.
            await LearnerRepository(session).remember(
                user_id=user_id, telegram_id=user.id, locale=locale, time_zone=time_zone, revision=10**9
            )
            await session.execute(
                update(Learner)
                .where(Learner.user_id == user_id)
                .values(announcements_enabled=announcements, blocked_at=datetime.now(UTC) if blocked else None)
            )
        return Recipient(user_id=user_id, chat_id=user.id, locale=locale)

    return make
