import asyncio
from datetime import UTC, datetime

import pytest
from academy_contracts import build_event
from academy_contracts.users import UserRegisteredV3
from academy_gamification.models import LearnerScore, PointsLedgerEntry, messaging
from academy_gamification.points.consumers import welcome_points
from academy_runtime.bus import event_message
from academy_runtime.consumer import ConsumerRuntime
from academy_runtime.testing import ProducerBus
from sqlalchemy import func, select

pytestmark = pytest.mark.integration


def registered(user_id: int) -> UserRegisteredV3:
    return UserRegisteredV3(
        user_id=user_id,
        telegram_id=50_000 + user_id,
        locale="ru",
        time_zone="Europe/Moscow",
        time_zone_source="default",
        revision=1,
        registered_at=datetime.now(UTC),
    )


@pytest.fixture
async def consumers(resources):
    runtime = ConsumerRuntime(resources, messaging, [welcome_points])
    await runtime.start()
    yield runtime
    await runtime.stop()


async def publish(platform, payload: dict) -> None:
    """Publish as the event's producer (the users service's broker user), as its relay would."""
    producers = ProducerBus(platform)
    try:
        await producers.publish(event_message(payload), payload["type"])
    finally:
        await producers.close()


async def ledger(resources, user_id: int) -> list[PointsLedgerEntry]:
    async with resources.sessionmaker() as session:
        stmt = select(PointsLedgerEntry).where(PointsLedgerEntry.user_id == user_id)
        return list((await session.execute(stmt)).scalars())


async def wait_for_ledger(resources, user_id: int, rows: int, timeout: float = 15) -> list[PointsLedgerEntry]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        entries = await ledger(resources, user_id)
        if len(entries) >= rows or asyncio.get_running_loop().time() > deadline:
            return entries
        await asyncio.sleep(0.05)


async def test_a_new_learner_gets_welcome_points_and_points_awarded_is_published(resources, consumers, platform):
    await publish(platform, build_event(registered(1)).model_dump(mode="json", exclude_none=True))

    entries = await wait_for_ledger(resources, 1, 1)
    assert [(e.points, e.reason, e.award_key) for e in entries] == [(50, "welcome", "welcome:1")]
    async with resources.sessionmaker() as session:
        outbox = (
            (await session.execute(select(messaging.outbox.c.payload).order_by(messaging.outbox.c.id))).scalars().all()
        )
        score = await session.get(LearnerScore, 1)
    # both versions during the transition, v2 first
    assert [p["type"] for p in outbox] == ["gamification.points_awarded.v2", "gamification.points_awarded.v1"]
    assert [p["data"]["total_points"] for p in outbox] == [50, 50]
    assert [p["data"]["reason"] for p in outbox] == ["welcome", "welcome"]
    assert score is not None
    assert score.total_points == 50


async def test_welcome_points_are_awarded_once_for_duplicates_and_for_a_second_registration_event(
    resources, consumers, platform
):
    event = build_event(registered(2)).model_dump(mode="json", exclude_none=True)
    await publish(platform, event)  # the event
    await publish(platform, event)  # redelivered
    # a different event for the same learner (e.g. re-published by an operator): still one award
    await publish(platform, build_event(registered(2)).model_dump(mode="json", exclude_none=True))
    await publish(platform, build_event(registered(3)).model_dump(mode="json", exclude_none=True))

    await wait_for_ledger(resources, 3, 1)
    await asyncio.sleep(0.3)
    assert len(await ledger(resources, 2)) == 1
    async with resources.sessionmaker() as session:
        total = (await session.execute(select(func.count()).select_from(messaging.outbox))).scalar_one()
        score = await session.get(LearnerScore, 2)
    assert total == 2 * 2  # one points_awarded per learner, in both versions
    assert score is not None
    assert score.total_points == 50


async def test_points_endpoint_reads_the_total(api, resources, consumers, platform):
    await publish(platform, build_event(registered(4)).model_dump(mode="json", exclude_none=True))
    await wait_for_ledger(resources, 4, 1)

    response = await api.get("/internal/learners/4/points")
    assert response.status_code == 200
    assert response.json()["total_points"] == 50
    assert response.json()["level"] >= 1


async def test_a_learner_without_awards_has_zero_points_and_bad_ids_get_422(api):
    assert (await api.get("/internal/learners/77/points")).json()["total_points"] == 0
    assert (await api.get("/internal/learners/-1/points")).status_code == 422
    assert (await api.get("/internal/learners/abc/points")).status_code == 422


async def test_points_endpoint_requires_a_service_token(api):
    response = await api.get("/internal/learners/4/points", headers={"authorization": ""})
    assert response.status_code == 401
