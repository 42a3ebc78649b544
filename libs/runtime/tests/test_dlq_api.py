"""Dead letters over HTTP (issue 12), against the real broker: the routes every service's API gets from the app
factory (`academy_runtime.dlq_api`), on the runtime's test service and its `registrations` consumer."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import httpx
import pytest
from academy_runtime.bus import bus_user
from academy_runtime.http import create_app
from academy_runtime.resources import Resources
from academy_runtime.testing import operator_token, service_token

from .conftest import effects, failures, purge_registrations, test_service
from .helpers import eventually, publish_event, registered

pytestmark = pytest.mark.integration

PURPOSE = "registrations"


@pytest.fixture(autouse=True)
async def _empty_queues(resources):
    await purge_registrations(resources.settings)
    yield
    await purge_registrations(resources.settings)


@asynccontextmanager
async def console(resources: Resources, token: str, *, consumers: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the test service's app (its own routes: none; the dead-letter routes the factory adds)."""
    definition = replace(test_service, routers=[], consumers=test_service.consumers if consumers else [])
    app = create_app(definition, resources.settings)
    app.state.resources = resources
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://rt", headers={"authorization": f"Bearer {token}"}
    ) as client:
        yield client


def operations(platform, name: str = "olga") -> str:
    return operator_token(platform, name=name, roles=("operations",), audience="rt-test")


def on(resources: Resources, **settings) -> Resources:
    """The same resources with other settings (another broker URL)."""
    return Resources(
        settings=resources.settings.model_copy(update=settings),
        engine=resources.engine,
        sessionmaker=resources.sessionmaker,
        redis=resources.redis,
    )


async def dead_letter_of(resources, user_id: int) -> None:
    """Publish a registration whose handling always fails, and wait for its dead letter."""
    failures.remaining[user_id] = -1
    await publish_event(resources.settings, registered(user_id))

    async def dead() -> bool:
        from academy_runtime.dlq import list_dead_letters

        return len(await list_dead_letters(resources.settings, PURPOSE)) == 1

    await eventually(dead, what="the dead letter")


async def test_list_shows_a_dead_letter_without_consuming_it(platform, resources, runtime):
    platform.require_bus_users()
    await dead_letter_of(resources, 401)
    async with console(resources, operations(platform)) as client:
        first = await client.get("/internal/dead-letters", params={"purpose": PURPOSE, "limit": 10})
        again = await client.get("/internal/dead-letters", params={"purpose": PURPOSE})
        purposes = await client.get("/internal/dead-letters/purposes")

    assert first.status_code == 200, first.text
    listing = first.json()
    queue = f"{resources.settings.queue_name(PURPOSE)}.dlq"
    assert (listing["purpose"], listing["queue"], listing["count"], listing["not_redrivable"]) == (PURPOSE, queue, 1, 0)
    [letter] = listing["messages"]
    assert letter["event_type"] == "users.user_registered.v1"
    assert letter["original_routing_key"] == "users.user_registered.v1"
    assert letter["original_publisher"] == bus_user(platform.bus_user_prefix, "users")
    assert letter["publisher"] == bus_user(platform.bus_user_prefix, "rt-test")
    assert letter["reason"] == "handler_failed"
    assert "planned failure for user 401" in letter["error"]
    assert letter["attempts"] == 3
    assert letter["failed_at"]
    assert letter["message_id"]
    assert '"user_id":401' in letter["body_preview"].replace(" ", "")
    assert letter["headers"]["x-dead-letter-reason"] == repr("handler_failed")
    assert (letter["redrivable"], letter["refusal"]) == (True, "")
    # Listing does not consume: the second read sees the same letter, and the queue still holds it.
    assert [m["message_id"] for m in again.json()["messages"]] == [letter["message_id"]]
    assert purposes.status_code == 200, purposes.text
    assert purposes.json() == {"service": "rt-test", "purposes": [{"purpose": PURPOSE, "queue": queue, "depth": 1}]}


async def test_redrive_moves_the_letter_back_to_the_main_queue_and_logs_who(platform, resources, runtime, caplog):
    platform.require_bus_users()
    await dead_letter_of(resources, 402)
    failures.remaining[402] = 0  # the handler works now
    caplog.set_level(logging.INFO, logger="academy_runtime.dlq_api")
    async with console(resources, operations(platform, "olga")) as client:
        response = await client.post(f"/internal/dead-letters/{PURPOSE}/redrive", json={"limit": 5})

    assert response.status_code == 200, response.text
    queue = f"{resources.settings.queue_name(PURPOSE)}.dlq"
    assert response.json() == {"purpose": PURPOSE, "queue": queue, "present": 1, "redriven": 1, "refused": []}

    async def one_effect() -> bool:  # the failed attempts rolled back theirs
        return await effects(resources, 402) == 1

    await eventually(one_effect, what="the re-driven event handled")
    async with console(resources, operations(platform)) as client:
        listing = (await client.get("/internal/dead-letters", params={"purpose": PURPOSE})).json()
    assert listing["count"] == 0
    [record] = [r for r in caplog.records if r.getMessage() == "dead letters re-driven"]
    assert (record.operator, record.purpose, record.present, record.redriven, record.refused) == (
        "operator:olga",
        PURPOSE,
        1,
        1,
        0,
    )
    # No body in the log: what the record carries beyond a bare record's attributes (its thread and
    # process ids, timestamps), which may hold "401" by chance.
    extra = {k: v for k, v in record.__dict__.items() if k not in vars(logging.makeLogRecord({}))}
    logged = f"{record.getMessage()} {extra!r}"
    assert "401" not in logged
    assert "user_id" not in logged


async def test_redrive_without_a_body_and_of_a_forged_letter_reports_why_it_stayed(platform, resources, runtime):
    """A letter another service planted is refused (academy_runtime.dlq's rule), and the answer says why."""
    import aio_pika
    from academy_contracts import build_event
    from academy_runtime.bus import connection_user, event_message

    platform.require_bus_users()
    progress = platform.bus_url("progress")
    payload = build_event(registered(403)).model_dump(mode="json", exclude_none=True)
    connection = await aio_pika.connect(progress)
    try:
        channel = await connection.channel(publisher_confirms=True)
        message = event_message(
            payload, headers={"x-dead-letter-reason": "handler_failed"}, user_id=connection_user(progress)
        )
        await channel.default_exchange.publish(message, routing_key=f"{resources.settings.queue_name(PURPOSE)}.dlq")
    finally:
        await connection.close()

    async with console(resources, operations(platform)) as client:
        response = await client.post(f"/internal/dead-letters/{PURPOSE}/redrive")
        listing = (await client.get("/internal/dead-letters", params={"purpose": PURPOSE})).json()
    assert response.status_code == 200, response.text
    why = f"not dead-lettered by rt-test: published by {bus_user(platform.bus_user_prefix, 'progress')}"
    assert response.json()["refused"] == [{"message_id": payload["id"], "reason": why}]
    assert (response.json()["present"], response.json()["redriven"]) == (1, 0)
    assert (listing["count"], listing["not_redrivable"]) == (1, 1)
    assert listing["messages"][0]["refusal"] == why


async def test_callers_without_the_operations_role_get_403(platform, resources):
    support = operator_token(platform, name="sam", roles=("support", "finance", "auditor"), audience="rt-test")
    gateway = service_token(platform, caller="gateway-bot", audience="rt-test")
    for token in (support, gateway):
        async with console(resources, token) as client:
            answers = [
                await client.get("/internal/dead-letters/purposes"),
                await client.get("/internal/dead-letters", params={"purpose": PURPOSE}),
                await client.post(f"/internal/dead-letters/{PURPOSE}/redrive"),
            ]
        for answer in answers:
            assert answer.status_code == 403, answer.text
            assert answer.json()["error"]["details"]["admits"] == "operators with role operations"
    async with console(resources, "") as client:
        assert (await client.get("/internal/dead-letters/purposes")).status_code == 401


async def test_an_unknown_purpose_is_404_naming_the_known_ones(platform, resources):
    async with console(resources, operations(platform)) as client:
        listed = await client.get("/internal/dead-letters", params={"purpose": "nonesuch"})
        redriven = await client.post("/internal/dead-letters/nonesuch/redrive")
    for answer in (listed, redriven):
        assert answer.status_code == 404, answer.text
        error = answer.json()["error"]
        assert error["message"] == "no consumer purpose 'nonesuch' here; known: registrations"
        assert error["details"] == {"known": [PURPOSE]}


async def test_a_bad_limit_or_body_is_422(platform, resources):
    async with console(resources, operations(platform)) as client:
        for limit in ("0", "-1", "1001", "many", "1e3"):
            answer = await client.get("/internal/dead-letters", params={"purpose": PURPOSE, "limit": limit})
            assert answer.status_code == 422, (limit, answer.text)
        for body in (
            {"limit": 0},
            {"limit": "all"},
            {"limit": True},
            {"limit": "5"},
            {"limit": 2.5},
            {"limit": 10**12},
            {"limit": 1, "purpose": "x"},
            [1],
        ):
            answer = await client.post(f"/internal/dead-letters/{PURPOSE}/redrive", json=body)
            assert answer.status_code == 422, (body, answer.text)
        assert (await client.get("/internal/dead-letters")).status_code == 422  # no purpose


async def test_an_unreachable_broker_is_503_not_500(platform, resources):
    nowhere = on(resources, rabbitmq_url="amqp://guest:guest@127.0.0.1:1/", bus_verify_publisher=False)
    async with console(nowhere, operations(platform)) as client:
        answers = [
            await client.get("/internal/dead-letters/purposes"),
            await client.get("/internal/dead-letters", params={"purpose": PURPOSE}),
            await client.post(f"/internal/dead-letters/{PURPOSE}/redrive"),
        ]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "dependency_unavailable"
        assert "the broker is unreachable" in answer.json()["error"]["message"]


async def test_a_redrive_as_another_broker_user_is_refused_with_the_reason(platform, resources):
    platform.require_bus_users()
    as_guest = on(resources, rabbitmq_url=platform.infra.rabbitmq_url)
    async with console(as_guest, operations(platform)) as client:
        answer = await client.post(f"/internal/dead-letters/{PURPOSE}/redrive")
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert error["code"] == "wrong_bus_user"
    assert (
        f"must connect as rt-test's own broker user '{bus_user(platform.bus_user_prefix, 'rt-test')}'"
        in error["message"]
    )


async def test_a_service_without_consumers_lists_no_purposes_and_has_no_other_routes(platform, resources):
    async with console(resources, operations(platform), consumers=False) as client:
        purposes = await client.get("/internal/dead-letters/purposes")
        listed = await client.get("/internal/dead-letters", params={"purpose": PURPOSE})
        document = (await client.get("/openapi.json")).json()
    assert purposes.status_code == 200, purposes.text
    assert purposes.json() == {"service": "rt-test", "purposes": []}
    assert listed.status_code == 404
    assert [path for path in document["paths"] if "dead-letters" in path] == ["/internal/dead-letters/purposes"]


async def test_the_routes_are_in_the_openapi_document_with_the_purposes_and_the_role(platform, resources):
    async with console(resources, operations(platform)) as client:
        document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    listing = paths["/internal/dead-letters"]["get"]
    [purpose] = [p for p in listing["parameters"] if p["name"] == "purpose"]
    assert purpose["schema"]["enum"] == [PURPOSE]
    redrive = paths["/internal/dead-letters/{purpose}/redrive"]["post"]
    for operation in (listing, redrive, paths["/internal/dead-letters/purposes"]["get"]):
        assert operation["security"]
        assert {"401", "403", "503"} <= set(operation["responses"])
    assert {"404", "422"} <= set(redrive["responses"])
