import asyncio

import pytest
from academy_runtime.relay import OutboxRelay
from academy_runtime.testing import TestPlatform, service_token
from academy_users.models import AuditLog, User, messaging
from sqlalchemy import func, select

pytestmark = pytest.mark.integration


async def _count(resources, stmt) -> int:
    async with resources.sessionmaker() as session:
        return (await session.execute(stmt)).scalar_one()


async def test_register_creates_learner_and_writes_user_registered_to_outbox(api, resources):
    response = await api.post(
        "/internal/users/register", json={"telegram_id": 1001, "username": "anna", "locale": "ru"}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] is True
    assert body["learner"]["telegram_id"] == 1001
    async with resources.sessionmaker() as session:
        rows = (await session.execute(select(messaging.outbox))).all()
    assert [r.event_type for r in rows] == ["users.user_registered.v1"]
    assert rows[0].payload["data"]["user_id"] == body["learner"]["id"]
    assert rows[0].payload["data"]["telegram_id"] == 1001
    assert await _count(resources, select(func.count()).select_from(AuditLog)) == 1


async def test_second_registration_returns_the_same_learner_without_a_second_event(api, resources):
    first = await api.post("/internal/users/register", json={"telegram_id": 1002})
    second = await api.post("/internal/users/register", json={"telegram_id": 1002, "username": "changed"})

    assert second.status_code == 200
    assert second.json()["created"] is False
    assert second.json()["learner"]["id"] == first.json()["learner"]["id"]
    assert await _count(resources, select(func.count()).select_from(messaging.outbox)) == 1


async def test_concurrent_registrations_of_one_telegram_user_make_one_learner(api, resources):
    responses = await asyncio.gather(
        *(api.post("/internal/users/register", json={"telegram_id": 1003}) for _ in range(8))
    )

    assert {r.status_code for r in responses} == {200}
    assert sum(r.json()["created"] for r in responses) == 1
    assert await _count(resources, select(func.count()).select_from(User)) == 1
    assert await _count(resources, select(func.count()).select_from(messaging.outbox)) == 1


async def test_idempotency_key_replays_the_first_answer(api):
    headers = {"idempotency-key": "tg:1:77:register"}
    first = await api.post("/internal/users/register", json={"telegram_id": 1004}, headers=headers)
    replay = await api.post("/internal/users/register", json={"telegram_id": 1004}, headers=headers)

    assert first.json()["created"] is True
    assert replay.json() == first.json()  # the replay says "created" too: it is the same answer


async def test_idempotency_key_reused_for_another_request_is_refused(api, resources):
    headers = {"idempotency-key": "tg:1:78:register"}
    await api.post("/internal/users/register", json={"telegram_id": 1005}, headers=headers)
    reused = await api.post("/internal/users/register", json={"telegram_id": 1006}, headers=headers)

    assert reused.status_code == 422
    assert "Idempotency-Key" in reused.json()["error"]["message"]
    assert await _count(resources, select(func.count()).select_from(User).where(User.telegram_id == 1006)) == 0


@pytest.mark.parametrize("authorization", ["", "Bearer not-a-token", "Basic abc"])
async def test_requests_without_a_valid_service_token_get_401_and_change_nothing(api, resources, authorization):
    response = await api.post(
        "/internal/users/register", json={"telegram_id": 1007}, headers={"authorization": authorization}
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert await _count(resources, select(func.count()).select_from(User)) == 0


async def test_token_for_another_service_is_refused(api, platform: TestPlatform, resources):
    token = service_token(platform, caller="gateway-bot", audience="billing")
    response = await api.post(
        "/internal/users/register", json={"telegram_id": 1008}, headers={"authorization": f"Bearer {token}"}
    )

    assert response.status_code == 401
    assert "not meant for users" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "body.telegram_id"),
        ({"telegram_id": -5}, "body.telegram_id"),
        ({"telegram_id": 1, "locale": "de"}, "body.locale"),
        ({"telegram_id": 1, "extra": 1}, "body.extra"),
    ],
)
async def test_invalid_registration_gets_422_naming_the_field(api, payload, field):
    response = await api.post("/internal/users/register", json=payload)

    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["error"]["details"]]


async def test_lookup_by_id_and_telegram_id(api):
    created = (await api.post("/internal/users/register", json={"telegram_id": 1009, "locale": "en"})).json()
    user_id = created["learner"]["id"]

    assert (await api.get(f"/internal/users/{user_id}")).json()["telegram_id"] == 1009
    assert (await api.get("/internal/users/by-telegram/1009")).json()["id"] == user_id
    missing = await api.get("/internal/users/999999")
    assert missing.status_code == 404
    assert (await api.get("/internal/users/0")).status_code == 422


async def test_relay_publishes_the_registration_event(api, resources, event_probe):
    await api.post("/internal/users/register", json={"telegram_id": 1010})
    relay = OutboxRelay(resources.settings, resources.sessionmaker, messaging)
    try:
        published = await relay.publish_pending()
    finally:
        await relay.close()

    assert published == 1
    event = await event_probe.next("users.user_registered.v1")
    assert event["data"]["telegram_id"] == 1010
    assert event["specversion"] == "1.0"
    assert event["partitionkey"] == str(event["data"]["user_id"])
