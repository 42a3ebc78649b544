"""The bus proves who published (issue 9, part 4), against the real broker with the run's per-service users.

The runtime's test service `rt-test` consumes `users.user_registered.v1`; the events come from the run's
`users` user, as the users service's relay would send them, or from someone else pretending to.
"""

import asyncio
import uuid

import aio_pika
import aiormq.exceptions
import pytest
from academy_contracts import build_event
from academy_runtime import metrics
from academy_runtime.bus import (
    EventsExchangeMissingError,
    EventTooLargeError,
    bus_user,
    declare_events_exchange,
    event_message,
)
from academy_runtime.bus_provisioning import bus_grants, definitions
from academy_runtime.consumer import ORIGINAL_KEY_HEADER, ORIGINAL_USER_HEADER
from academy_runtime.dlq import list_dead_letters
from academy_runtime.relay import OutboxRelay
from academy_runtime.testing import ProducerBus
from sqlalchemy import insert, select

from .conftest import effects, messaging
from .helpers import eventually, publish_event, publish_raw, registered

pytestmark = pytest.mark.integration


async def dead_letter(resources, reason: str):
    """Wait for the first dead letter of the test's queue and check its reason."""
    letters = []

    async def some() -> bool:
        nonlocal letters
        letters = await list_dead_letters(resources.settings, "registrations")
        return bool(letters)

    await eventually(some, what=f"a dead letter ({reason})")
    assert [letter.reason for letter in letters] == [reason]
    return letters[0]


def refused(resources, reason: str) -> float:
    sample = metrics.EVENTS_REFUSED.labels(resources.settings.service_name, "registrations", "consume", reason)
    return sample._value.get()


async def marker(resources, user_id: int) -> None:
    """A genuine event after the forged one: consuming went on, and the forged one had its chance."""
    await publish_event(resources.settings, registered(user_id))
    await eventually(lambda: _has(resources, user_id), what="the genuine event after the forged one")


async def _has(resources, user_id: int) -> bool:
    return await effects(resources, user_id) == 1


# -- the broker refuses ---------------------------------------------------------------------------


async def test_the_broker_refuses_a_service_publishing_another_services_routing_key(platform, resources):
    platform.require_bus_users()
    bus = ProducerBus(platform)
    payload = build_event(registered(41)).model_dump(mode="json", exclude_none=True)
    try:
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused, match="access to topic"):
            await bus.publish(payload, as_service="progress")
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused, match="access to topic"):
            await bus.publish(payload, as_service="gateway-bot")  # publishes nothing at all
    finally:
        await bus.close()


async def test_the_broker_refuses_a_user_id_that_is_not_the_connections_user(platform, resources):
    platform.require_bus_users()
    connection = await aio_pika.connect(platform.bus_url("progress"))
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(platform.events_exchange, ensure=False)
        message = event_message(build_event(registered(42)).model_dump(mode="json", exclude_none=True))
        message.user_id = bus_user(platform.bus_user_prefix, "users")
        with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed, match="user_id property set to"):
            await exchange.publish(message, routing_key="progress.lesson_completed.v1")
    finally:
        await connection.close()


# -- consumers refuse -----------------------------------------------------------------------------


async def test_an_event_published_straight_into_the_queue_by_another_service_is_dead_lettered(
    platform, resources, runtime
):
    """Write on the default exchange lets any service reach any queue; the consumer's user_id check stops it,
    forged origin headers included."""
    platform.require_bus_users()
    before = refused(resources, "unverified_publisher")
    connection = await aio_pika.connect(platform.bus_url("progress"))
    try:
        channel = await connection.channel(publisher_confirms=True)
        message = event_message(
            build_event(registered(43)).model_dump(mode="json", exclude_none=True),
            headers={
                ORIGINAL_KEY_HEADER: "users.user_registered.v1",
                ORIGINAL_USER_HEADER: bus_user(platform.bus_user_prefix, "users"),
            },
        )
        message.user_id = bus_user(platform.bus_user_prefix, "progress")
        await channel.default_exchange.publish(message, routing_key=resources.settings.queue_name("registrations"))
    finally:
        await connection.close()

    letter = await dead_letter(resources, "unverified_publisher")
    assert "straight into the queue" in letter.error
    await marker(resources, 44)
    assert await effects(resources, 43) == 0
    assert refused(resources, "unverified_publisher") == before + 1


async def test_an_event_without_the_producers_user_id_is_dead_lettered(platform, resources, runtime):
    """The broker's administrator (guest here) may publish any routing key; it is still not the users service."""
    platform.require_bus_users()
    connection = await aio_pika.connect(platform.infra.rabbitmq_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(platform.events_exchange, ensure=False)
        payload = build_event(registered(45)).model_dump(mode="json", exclude_none=True)
        await exchange.publish(event_message(payload), routing_key=payload["type"])
    finally:
        await connection.close()

    letter = await dead_letter(resources, "unverified_publisher")
    assert bus_user(platform.bus_user_prefix, "users") in letter.error
    await marker(resources, 46)
    assert await effects(resources, 45) == 0


async def test_an_event_whose_source_is_not_the_routing_keys_service_is_dead_lettered(resources, runtime):
    before = refused(resources, "source_mismatch")
    payload = build_event(registered(47)).model_dump(mode="json", exclude_none=True)
    payload["source"] = "/beauty-academy/progress"
    await publish_raw(resources.settings, payload, payload["type"])

    letter = await dead_letter(resources, "source_mismatch")
    assert "/beauty-academy/progress" in letter.error
    await marker(resources, 48)
    assert await effects(resources, 47) == 0
    assert refused(resources, "source_mismatch") == before + 1


async def test_an_event_published_under_another_types_routing_key_is_dead_lettered(resources, runtime):
    payload = build_event(registered(49)).model_dump(mode="json", exclude_none=True)
    payload["type"] = "users.user_registered.v2"
    await publish_raw(resources.settings, payload, "users.user_registered.v1")

    await dead_letter(resources, "routing_key_mismatch")
    await marker(resources, 50)
    assert await effects(resources, 49) == 0


async def test_an_oversized_message_is_dead_lettered_without_being_parsed(resources, runtime):
    before = refused(resources, "oversized")
    body = b"{" + b" " * (resources.settings.max_event_bytes + 1) + b"}"  # not even an event
    await publish_raw(resources.settings, body)

    letter = await dead_letter(resources, "oversized")
    assert f"over the limit of {resources.settings.max_event_bytes}" in letter.error
    await marker(resources, 51)
    assert refused(resources, "oversized") == before + 1


async def test_an_event_id_reused_with_other_content_is_reported_not_dropped(resources, runtime):
    before = refused(resources, "event_id_reused")
    event_id = str(uuid.uuid4())
    first = await publish_event(resources.settings, registered(52), event_id=event_id)
    await eventually(lambda: _has(resources, 52), what="the first event handled")

    await publish_raw(resources.settings, first, first["type"])  # a redelivery: same content, quietly a duplicate
    await publish_event(resources.settings, registered(53), event_id=event_id)  # same id, another learner

    letter = await dead_letter(resources, "event_id_reused")
    assert event_id in letter.error
    assert letter.message_id == event_id  # the second event is kept for operators to look at
    assert await effects(resources, 52) == 1
    assert await effects(resources, 53) == 0
    assert refused(resources, "event_id_reused") == before + 1


# -- publishers refuse ----------------------------------------------------------------------------


async def test_an_event_over_the_size_limit_is_refused_when_written_to_the_outbox(resources, monkeypatch):
    monkeypatch.setattr(messaging, "max_event_bytes", 300)
    async with resources.sessionmaker() as session, session.begin():
        with pytest.raises(EventTooLargeError, match="over the bus limit of 300 bytes"):
            await messaging.publish(session, registered(54))


async def test_the_relay_parks_an_oversized_row_and_publishes_the_others(resources, event_probe):
    limit = resources.settings.max_event_bytes
    huge = build_event(registered(55)).model_dump(mode="json", exclude_none=True)
    huge["data"]["padding"] = "x" * limit
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(
            insert(messaging.outbox).values(
                event_id=uuid.UUID(huge["id"]), event_type=huge["type"], partition_key="55", payload=huge
            )
        )
        await messaging.publish(session, registered(56))
    relay = OutboxRelay(resources.settings, resources.sessionmaker, messaging)
    try:
        assert await relay.publish_pending() == 1
    finally:
        await relay.close()

    published = await event_probe.next()
    assert published["data"]["user_id"] == 56
    await asyncio.sleep(0.2)
    assert await event_probe.drain() == []
    async with resources.sessionmaker() as session:
        row = (
            await session.execute(
                select(
                    messaging.outbox.c.published_at, messaging.outbox.c.parked_at, messaging.outbox.c.last_error
                ).where(messaging.outbox.c.event_id == uuid.UUID(huge["id"]))
            )
        ).one()
    assert row.published_at is None
    assert row.parked_at is not None
    assert "over the bus limit" in row.last_error


async def test_the_relay_marks_what_it_publishes_with_its_broker_user(platform, resources):
    """What consumers check: the relay sets `user_id`, and the broker lets it through."""
    platform.require_bus_users()
    captured = []
    connection = await aio_pika.connect(platform.infra.rabbitmq_url)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange(platform.events_exchange, ensure=False)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="#")
        async with resources.sessionmaker() as session, session.begin():
            await messaging.publish(session, registered(57))
        relay = OutboxRelay(resources.settings, resources.sessionmaker, messaging)
        try:
            assert await relay.publish_pending() == 1
        finally:
            await relay.close()
        for _ in range(100):
            message = await queue.get(no_ack=True, fail=False)
            if message is not None:
                captured.append(message)
                break
            await asyncio.sleep(0.05)
    finally:
        await connection.close()
    assert captured
    assert captured[0].user_id == bus_user(resources.settings.bus_user_prefix, "rt-test")


# -- the grants -----------------------------------------------------------------------------------


def test_each_service_may_publish_only_its_own_routing_keys():
    grants = {
        g.service: g
        for g in bus_grants(
            dict.fromkeys(("users", "progress", "gateway-bot"), "pw"), services=("users", "progress", "gateway-bot")
        )
    }
    assert grants["users"].topic_write == r"^users\."
    assert grants["progress"].topic_write == r"^progress\."
    assert grants["gateway-bot"].topic_write == "^$"  # it publishes no event
    assert grants["progress"].configure == r"^(progress\..*)$"  # its queues; not the exchange
    document = definitions(grants.values())
    assert {u["name"] for u in document["users"]} == {"academy-users", "academy-progress", "academy-gateway-bot"}
    assert all(p["exchange"] == "academy.events" for p in document["topic_permissions"])


async def test_a_service_user_cannot_delete_or_redeclare_the_events_exchange(platform):
    """Provisioning declares the exchange; a service's user may only look it up, publish and bind."""
    platform.require_bus_users()
    connection = await aio_pika.connect(platform.bus_url("users"))
    try:
        channel = await connection.channel()
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
            await channel.exchange_delete(platform.events_exchange)
        channel = await connection.channel()
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
            await channel.declare_exchange(platform.events_exchange, aio_pika.ExchangeType.FANOUT, durable=False)
        channel = await connection.channel(publisher_confirms=True)
        exchange = await declare_events_exchange(channel, platform.events_exchange)  # passive: allowed
        await exchange.publish(event_message(build_event(registered(58)).model_dump(mode="json")), "users.x.v1")
    finally:
        await connection.close()
    admin = await aio_pika.connect(platform.infra.rabbitmq_url)
    try:  # still there
        await declare_events_exchange(await admin.channel(), platform.events_exchange)
    finally:
        await admin.close()


async def test_a_missing_events_exchange_says_to_provision_the_bus(platform):
    connection = await aio_pika.connect(platform.bus_url("users"))
    try:
        with pytest.raises(EventsExchangeMissingError, match="provision-bus"):
            await declare_events_exchange(await connection.channel(), f"{platform.run_id}.no-such-exchange")
    finally:
        await connection.close()
