import json
from datetime import UTC, datetime

import aio_pika
import pytest
from academy_billing.models import Wallet, WalletTransaction, messaging
from academy_billing.wallet.consumers import achievement_rewards
from academy_contracts import AchievementUnlockedV1, build_event
from academy_runtime.consumer import REASON_HEADER, ConsumerRuntime, declare_topology
from prometheus_client import REGISTRY
from sqlalchemy import func, select

pytestmark = pytest.mark.integration

TYPE = AchievementUnlockedV1.event_type


def _unlocked(user_id: int, achievement_id: int, points: int = 100) -> AchievementUnlockedV1:
    return AchievementUnlockedV1(
        user_id=user_id,
        achievement_id=achievement_id,
        code="nail_master",
        title="Мастер ногтей",
        points=points,
        category="manicure",
        unlocked_at=datetime(2025, 3, 20, 19, 45, tzinfo=UTC),
    )


def _consumed(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "academy_events_consumed_total",
        {"service": "billing", "consumer": "achievement-rewards", "type": TYPE, "outcome": outcome},
    )
    return value or 0.0


@pytest.fixture
def publisher(publish):
    async def send(body: bytes, routing_key: str = TYPE) -> None:
        await publish(body, routing_key)

    return send


@pytest.fixture
async def dead_letters(resources):
    """The consumer's dead-letter queue, emptied before the test."""
    connection = await aio_pika.connect(resources.settings.rabbitmq_url)
    channel = await connection.channel()
    # Declared exactly as the consumer runtime declares it (arguments must match).
    queue, _ = await declare_topology(channel, resources, achievement_rewards)
    queue = await channel.declare_queue(f"{queue.name}.dlq", passive=True)
    await queue.purge()
    yield queue
    await connection.close()


@pytest.fixture
async def running_consumer(resources, dead_letters):
    runtime = ConsumerRuntime(resources, messaging, [achievement_rewards])
    await runtime.start()
    yield runtime
    await runtime.stop()


async def _coins(resources, user_id: int) -> int:
    async with resources.sessionmaker() as session:
        return await session.scalar(select(Wallet.coins).where(Wallet.user_id == user_id)) or 0


async def _rewards(resources, user_id: int) -> int:
    async with resources.sessionmaker() as session:
        return await session.scalar(
            select(func.count()).select_from(WalletTransaction).where(WalletTransaction.user_id == user_id)
        )


async def test_an_unlocked_achievement_credits_its_points_as_coins_once(
    resources, running_consumer, publisher, eventually
):
    event = build_event(_unlocked(user_id=201, achievement_id=3, points=100))
    duplicates_before = _consumed("duplicate")
    handled_before = _consumed("handled")

    await publisher(event.to_json())
    await eventually(lambda: _has_coins(resources, 201, 100), what="reward credited")

    # The broker delivers the same event again: the inbox drops it.
    await publisher(event.to_json())
    await eventually(_counter_reached("duplicate", duplicates_before + 1), what="duplicate seen")

    # Gamification re-publishes the same unlock under a new event id: the ledger reference drops it.
    await publisher(build_event(_unlocked(user_id=201, achievement_id=3, points=100)).to_json())
    await eventually(_counter_reached("handled", handled_before + 2), what="re-published unlock handled")

    assert await _coins(resources, 201) == 100
    assert await _rewards(resources, 201) == 1
    async with resources.sessionmaker() as session:
        row = (await session.execute(select(WalletTransaction).where(WalletTransaction.user_id == 201))).scalar_one()
    assert row.reference == "achievement:201:3"
    assert row.type == "reward"
    assert row.description == "Награда за достижение «Мастер ногтей»"


async def test_an_achievement_worth_no_points_credits_nothing(resources, running_consumer, publisher, eventually):
    handled_before = _consumed("handled")

    await publisher(build_event(_unlocked(user_id=202, achievement_id=4, points=0)).to_json())
    await eventually(_counter_reached("handled", handled_before + 1), what="zero-point unlock handled")

    assert await _rewards(resources, 202) == 0


async def test_a_malformed_message_is_dead_lettered_and_the_next_valid_one_is_still_handled(
    resources, running_consumer, publisher, dead_letters, eventually
):
    await publisher(b"{not json")
    bad_data = build_event(_unlocked(user_id=203, achievement_id=5)).model_dump(mode="json")
    bad_data["data"]["points"] = -10
    await publisher(_json(bad_data))
    await publisher(build_event(_unlocked(user_id=203, achievement_id=6, points=30)).to_json())

    await eventually(lambda: _has_coins(resources, 203, 30), what="valid event handled")
    await eventually(lambda: _queue_depth(dead_letters, 2), what="two dead letters")
    reasons = []
    while (message := await dead_letters.get(no_ack=True, fail=False)) is not None:
        reasons.append(message.headers[REASON_HEADER])
    assert reasons == ["invalid", "invalid"]
    assert await _rewards(resources, 203) == 1


def _json(payload: dict) -> bytes:
    return json.dumps(payload).encode()


async def _has_coins(resources, user_id: int, coins: int) -> bool:
    return await _coins(resources, user_id) == coins


def _counter_reached(outcome: str, value: float):
    async def check() -> bool:
        return _consumed(outcome) >= value

    return check


async def _queue_depth(queue, expected: int) -> bool:
    return (await queue.declare()).message_count == expected
