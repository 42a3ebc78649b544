"""Dead letters prove who dead-lettered them (issue 9, part 4), against the real broker with the run's users.

Every service may write to the default exchange, so anyone can put a message into rt-test's retry and
dead-letter queues with forged `x-original-*` headers. Only what rt-test's consumer moved there itself (AMQP
`user_id` = rt-test's own user, which the broker validates) is re-driven; a re-drive runs only as rt-test's
own user, looks only at the letters present when it starts, and a refused letter keeps its first publisher.
"""

import asyncio
import json

import aio_pika
import pytest
from academy_contracts import build_event
from academy_runtime import dlq as dlq_tools
from academy_runtime.bus import bus_user, connection_user, event_message
from academy_runtime.consumer import (
    ORIGINAL_KEY_HEADER,
    ORIGINAL_USER_HEADER,
    REASON_HEADER,
)
from academy_runtime.dlq import list_dead_letters, redrive_dead_letters
from academy_runtime.settings import Environment

from .conftest import effects, failures, purge_registrations
from .helpers import eventually, publish_event, registered

pytestmark = pytest.mark.integration

PURPOSE = "registrations"
KEY = "users.user_registered.v1"


@pytest.fixture(autouse=True)
async def _empty_queues(resources):
    await purge_registrations(resources.settings)
    yield
    await purge_registrations(resources.settings)


async def plant(url: str, queue: str, payload: dict, headers: dict) -> None:
    """Publish `payload` through the default exchange straight into `queue`, as the user of `url`."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        message = event_message(payload, headers=headers, user_id=connection_user(url))
        await channel.default_exchange.publish(message, routing_key=queue)
    finally:
        await connection.close()


async def letters_when(resources, count: int):
    found = []

    async def enough() -> bool:
        nonlocal found
        found = await list_dead_letters(resources.settings, PURPOSE)
        return len(found) == count

    await eventually(enough, what=f"{count} dead letter(s)")
    return found


async def handled(resources, user_id: int) -> None:
    async def done() -> bool:
        return await effects(resources, user_id) == 1

    await eventually(done, what=f"event of user {user_id} handled")


def payload_of(user_id: int) -> dict:
    return build_event(registered(user_id)).model_dump(mode="json", exclude_none=True)


async def test_a_forged_letter_planted_in_the_dlq_by_another_service_is_never_redriven(platform, resources, runtime):
    """The QA attack: another service plants an event in the DLQ claiming the producer's origin, then the
    service's own operator runs `dlq redrive`."""
    platform.require_bus_users()
    users_user = bus_user(platform.bus_user_prefix, "users")
    progress_user = bus_user(platform.bus_user_prefix, "progress")
    dlq = resources.settings.queue_name(PURPOSE) + ".dlq"
    forged = payload_of(301)
    await plant(
        platform.bus_url("progress"),
        dlq,
        forged,
        {ORIGINAL_KEY_HEADER: KEY, ORIGINAL_USER_HEADER: users_user, REASON_HEADER: "handler_failed"},
    )

    report = await redrive_dead_letters(resources.settings, PURPOSE)
    await publish_event(resources.settings, registered(302))  # a marker after the re-drive
    await handled(resources, 302)
    assert await effects(resources, 301) == 0
    [letter] = await list_dead_letters(resources.settings, PURPOSE)  # still there, nothing else
    assert letter.message_id == forged["id"]

    why = f"not dead-lettered by rt-test: published by {progress_user}"
    assert (report.present, report.moved, report.left) == (1, 0, [(forged["id"], why)])
    assert (letter.publisher, letter.redrivable, letter.refusal) == (progress_user, False, why)
    assert (letter.original_publisher, letter.original_routing_key) == (users_user, KEY)  # as claimed


async def test_a_forged_message_planted_in_a_retry_queue_is_refused_and_its_letter_not_redriven(
    platform, resources, runtime
):
    """The retry queue dead-letters into the main queue through the default exchange: the planter's user_id
    comes along, so the consumer does not believe its headers, whatever they say."""
    platform.require_bus_users()
    users_user = bus_user(platform.bus_user_prefix, "users")
    progress_user = bus_user(platform.bus_user_prefix, "progress")
    retry = resources.settings.queue_name(PURPOSE) + ".retry.100"
    forged = payload_of(311)
    await plant(
        platform.bus_url("progress"),
        retry,
        forged,
        {
            ORIGINAL_KEY_HEADER: KEY,
            ORIGINAL_USER_HEADER: users_user,
            "x-original-verified": True,
            "x-redriven": True,
        },
    )
    [letter] = await letters_when(resources, 1)
    assert letter.reason == "unverified_publisher"
    assert await effects(resources, 311) == 0
    # rt-test's consumer moved it to the DLQ itself, but marked its claimed origin as unverified.
    own = bus_user(platform.bus_user_prefix, "rt-test")
    assert letter.headers["x-original-verified"] == "False"
    assert letter.headers["x-dead-letter-publisher"] == repr(progress_user)
    assert (letter.publisher, letter.redrivable) == (own, False)
    assert progress_user in letter.refusal

    report = await redrive_dead_letters(resources.settings, PURPOSE)
    assert (report.moved, [message_id for message_id, _ in report.left]) == (0, [forged["id"]])
    await publish_event(resources.settings, registered(312))
    await handled(resources, 312)
    assert await effects(resources, 311) == 0
    assert [d.message_id for d in await list_dead_letters(resources.settings, PURPOSE)] == [forged["id"]]


async def test_a_letter_redriven_by_the_wrong_user_keeps_its_first_publisher_and_routing_key(
    platform, resources, runtime
):
    """What the old tool did run as guest: the copy reached the queue from guest and was refused; the new
    dead letter must still name the event's first publisher and routing key, never ''/guest."""
    platform.require_bus_users()
    users_user = bus_user(platform.bus_user_prefix, "users")
    guest = connection_user(platform.infra.rabbitmq_url)
    payload = payload_of(321)
    await plant(
        platform.infra.rabbitmq_url,
        resources.settings.queue_name(PURPOSE),
        payload,
        {ORIGINAL_KEY_HEADER: KEY, ORIGINAL_USER_HEADER: users_user, "x-redriven": True},
    )
    [letter] = await letters_when(resources, 1)
    assert letter.reason == "unverified_publisher"
    assert letter.headers[ORIGINAL_USER_HEADER] == repr(users_user)
    assert letter.headers[ORIGINAL_KEY_HEADER] == repr(KEY)
    assert letter.headers["x-dead-letter-publisher"] == repr(guest)
    assert not letter.redrivable  # its origin is a claim nobody checked
    assert await effects(resources, 321) == 0


async def test_redrive_runs_only_as_the_services_own_user_and_moves_its_own_letters(platform, resources, runtime):
    platform.require_bus_users()
    failures.remaining[331] = -1
    payload = await publish_event(resources.settings, registered(331))
    [letter] = await letters_when(resources, 1)
    assert letter.reason == "handler_failed"
    own = bus_user(platform.bus_user_prefix, "rt-test")

    failures.remaining[331] = 0
    as_guest = resources.settings.model_copy(update={"rabbitmq_url": platform.infra.rabbitmq_url})
    guest = connection_user(platform.infra.rabbitmq_url)
    with pytest.raises(RuntimeError, match=f"must connect as rt-test's own broker user '{own}', not '{guest}'") as err:
        await redrive_dead_letters(as_guest, PURPOSE)
    assert "RABBITMQ_URL=" in str(err.value)
    assert [d.message_id for d in await list_dead_letters(resources.settings, PURPOSE)] == [payload["id"]]
    assert await effects(resources, 331) == 0
    # The consumer publishes its dead letters itself, as rt-test's own user, with the producer's origin.
    users_user = bus_user(platform.bus_user_prefix, "users")
    assert (letter.publisher, letter.redrivable, letter.refusal) == (own, True, "")
    assert (letter.original_publisher, letter.original_routing_key) == (users_user, KEY)

    report = await redrive_dead_letters(resources.settings, PURPOSE)
    assert (report.present, report.moved, report.left) == (1, 1, [])
    await handled(resources, 331)
    assert await list_dead_letters(resources.settings, PURPOSE) == []


async def test_one_redrive_moves_at_most_the_letters_present_when_it_started(platform, resources):
    """Letters that bounce straight back into the DLQ (a consumer still refusing them) are not picked up
    again: 3 letters, 3 re-drives."""
    settings = resources.settings
    main, dlq = settings.queue_name(PURPOSE), settings.queue_name(PURPOSE) + ".dlq"
    own = connection_user(settings.rabbitmq_url)
    origin = {ORIGINAL_KEY_HEADER: KEY, ORIGINAL_USER_HEADER: bus_user(platform.bus_user_prefix, "users")}
    for user_id in (341, 342, 343):
        await plant(settings.rabbitmq_url, dlq, payload_of(user_id), {**origin, "x-original-verified": True})

    connection = await aio_pika.connect(settings.rabbitmq_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        bounced = 0

        async def bounce(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal bounced
            headers = {k: v for k, v in (message.headers or {}).items() if k != "x-redriven"}
            copy = aio_pika.Message(message.body, headers=headers, message_id=message.message_id, user_id=own)
            await channel.default_exchange.publish(copy, routing_key=dlq)
            await message.ack()
            bounced += 1

        queue = await channel.declare_queue(main, passive=True)
        await queue.consume(bounce)
        report = await asyncio.wait_for(redrive_dead_letters(settings, PURPOSE), timeout=10)
        assert (report.present, report.moved) == (3, 3)
        await eventually(lambda: _equals(lambda: bounced, 3), what="the three letters bounced back")
        again = await redrive_dead_letters(settings, PURPOSE, limit=2)
        assert (again.present, again.moved) == (3, 2)
    finally:
        await connection.close()


async def _equals(get, value) -> bool:
    return get() == value


def test_development_picks_the_services_own_broker_url_from_make_runs_passwords(settings, tmp_path):
    own = bus_user(settings.bus_user_prefix, settings.service_name)
    passwords = tmp_path / "bus-passwords.json"
    passwords.write_text(json.dumps({settings.service_name: "s3cret/+"}))
    dev = settings.model_copy(
        update={
            "environment": Environment.DEVELOPMENT,
            "bus_verify_publisher": True,
            "rabbitmq_url": "amqp://guest:guest@127.0.0.1:5672/",
        }
    )
    assert dlq_tools.development_bus_url(dev, passwords) == f"amqp://{own}:s3cret%2F%2B@127.0.0.1:5672/"
    assert dlq_tools.development_bus_url(dev, tmp_path / "missing.json") is None
    test = dev.model_copy(update={"environment": Environment.TEST})
    assert dlq_tools.development_bus_url(test, passwords) is None
    already_own = dev.model_copy(update={"rabbitmq_url": f"amqp://{own}:x@127.0.0.1:5672/"})
    assert dlq_tools.development_bus_url(already_own, passwords) is None


async def test_a_letter_whose_recorded_origin_could_never_pass_is_listed_as_such_and_left(platform, resources):
    """Letters a re-drive as guest once rewrote (origin `guest`, routing key '') came straight back at every
    re-drive while `dlq list` called them redrivable (QA)."""
    settings = resources.settings
    dlq = settings.queue_name(PURPOSE) + ".dlq"
    right = {ORIGINAL_KEY_HEADER: KEY, ORIGINAL_USER_HEADER: bus_user(platform.bus_user_prefix, "users")}
    ruined = {ORIGINAL_KEY_HEADER: "", ORIGINAL_USER_HEADER: "guest"}
    wrong_owner = {ORIGINAL_KEY_HEADER: KEY, ORIGINAL_USER_HEADER: bus_user(platform.bus_user_prefix, "billing")}
    ids = {}
    for user_id, origin in ((351, right), (352, ruined), (353, wrong_owner)):
        payload = payload_of(user_id)
        ids[payload["id"]] = user_id
        await plant(settings.rabbitmq_url, dlq, payload, {**origin, "x-original-verified": True})

    letters = {ids[letter.message_id]: letter for letter in await letters_when(resources, 3)}

    assert letters[351].redrivable
    assert not letters[352].redrivable
    assert "routing key '(none)', published by 'guest'" in letters[352].refusal
    assert not letters[353].redrivable
    assert "instead of" in letters[353].refusal
    report = await redrive_dead_letters(settings, PURPOSE)
    assert (report.present, report.moved) == (3, 1)
