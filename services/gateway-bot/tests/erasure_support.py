"""Looking for a learner after their erasure: the gateway's rows and every Redis key that names them."""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from typing import Any

import pytest
from academy_gateway_bot.models import ErasedLearner, Learner, NotificationLog, UserState, messaging
from academy_runtime.db import transaction
from academy_runtime.resources import Resources
from academy_runtime.testing import redis_entries_mentioning
from sqlalchemy import func, or_, select

needs_s3 = pytest.mark.skipif(
    not os.environ.get("TEST_S3_ENDPOINT"),
    reason="users keeps avatars in S3 and erases them with the learner (TEST_S3_ENDPOINT)",
)


async def publish_as(services: Any, service: str, data: Any, event_id: uuid.UUID | None = None) -> uuid.UUID:
    """An event as `service` publishes it: through its outbox and relay onto the run's exchange."""
    event_id = event_id or uuid.uuid4()
    running = services[service]
    async with transaction(running.resources.sessionmaker) as session:
        await running.definition.messaging.publish(session, data, event_id=event_id)
    return event_id


async def wait_until_handled(resources: Resources, event_id: uuid.UUID, consumer: str, timeout: float = 20.0) -> None:
    """Until the gateway's `consumer` (a purpose: `learner-directory`) has committed the event (its inbox)."""
    deadline = time.monotonic() + timeout
    while True:
        async with resources.sessionmaker() as session:
            found = await session.scalar(
                select(func.count())
                .select_from(messaging.inbox)
                .where(messaging.inbox.c.event_id == str(event_id), messaging.inbox.c.consumer.like(f"%{consumer}"))
            )
        if found:
            return
        assert time.monotonic() < deadline, f"the gateway's {consumer} never handled event {event_id}"
        await asyncio.sleep(0.1)


# The gateway's own keys (redis_keys.py); the other services in this process share the run's prefix.
_GATEWAY_NAMESPACES = ("tg", "fsm")


async def redis_keys_naming(resources: Resources, telegram_id: int, user_id: int | None = None) -> list[str]:
    """Keys of this run (its REDIS_PREFIX) naming the learner: their Telegram id as a whole part of any key,
    whatever wrote it; their user id (a small number other keys hold for other things: `course:18`) as a
    part of the gateway's own keys."""
    prefix = resources.settings.redis_prefix
    found = []
    async for raw in resources.redis.scan_iter(match=f"{prefix}*", count=1000):
        key = raw.decode() if isinstance(raw, bytes) else str(raw)
        # `{...}` is a hash tag (redis_keys): `tg:learner:{123}` names 123 as a whole part.
        parts = re.split(r"[:.{}]", key.removeprefix(prefix))
        by_user = user_id is not None and parts[0] in _GATEWAY_NAMESPACES and str(user_id) in parts[1:]
        if str(telegram_id) in parts or by_user:
            found.append(key)
    return found


async def redis_values_naming(resources: Resources, text: str) -> list[str]:
    """Keys of this run whose name or value (whatever its type) holds `text` (a name, a phone, a Telegram
    id), one line each."""
    return await redis_entries_mentioning(resources.redis, resources.settings.redis_prefix, [text])


async def gateway_rows(resources: Resources, *, user_id: int, telegram_id: int) -> dict[str, int]:
    """How many rows of the gateway's tables still name the learner."""
    async with resources.sessionmaker() as session:

        async def count(statement: Any) -> int:
            return int(await session.scalar(statement) or 0)

        return {
            "learners": await count(
                select(func.count())
                .select_from(Learner)
                .where(or_(Learner.user_id == user_id, Learner.telegram_id == telegram_id))
            ),
            "user_states": await count(
                select(func.count())
                .select_from(UserState)
                .where(or_(UserState.user_id == user_id, UserState.telegram_id == telegram_id))
            ),
            "notification_log": await count(
                select(func.count())
                .select_from(NotificationLog)
                .where(or_(NotificationLog.user_id == user_id, NotificationLog.chat_id == telegram_id))
            ),
        }


async def tombstone(resources: Resources, user_id: int) -> ErasedLearner | None:
    async with resources.sessionmaker() as session:
        return await session.scalar(select(ErasedLearner).where(ErasedLearner.user_id == user_id))
