import asyncio
import json

import pytest
from academy_runtime.relay import OutboxRelay
from academy_runtime.testing import TestPlatform, service_token
from academy_users.models import AuditLog, User, messaging
from sqlalchemy import func, select

pytestmark = pytest.mark.integration

CONSENT = {"version": "2026-11-01", "accepted_at": "2026-11-20T10:00:00+03:00"}


def registration(telegram_id: int, **fields: object) -> dict[str, object]:
    """A complete registration body: what the bot sends at the end of the consent conversation."""
    return {
        "telegram_id": telegram_id,
        "locale": "ru",
        "full_name": "Анна Смирнова",
        "phone": "+79161234567",
        "city": "Москва",
        "consent": CONSENT,
    } | fields


async def register_learner(api, telegram_id: int, **fields: object) -> int:
    """Register a learner through the API (`registration` with `fields` changed); their user id."""
    response = await api.post("/internal/users/register", json=registration(telegram_id, **fields))
    assert response.status_code == 200, response.text
    return response.json()["learner"]["id"]


async def _count(resources, stmt) -> int:
    async with resources.sessionmaker() as session:
        return (await session.execute(stmt)).scalar_one()


async def test_register_creates_learner_and_writes_user_registered_to_outbox(api, resources):
    response = await api.post("/internal/users/register", json=registration(1001, username="anna", locale="ru"))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] is True
    assert body["learner"]["telegram_id"] == 1001
    async with resources.sessionmaker() as session:
        rows = (await session.execute(select(messaging.outbox))).all()
    # v3 only: v1 and v2 carry the full name (issue 10)
    [row] = rows
    assert row.event_type == "users.user_registered.v3"
    data = row.payload["data"]
    assert (data["user_id"], data["telegram_id"], data["revision"]) == (body["learner"]["id"], 1001, 1)
    assert data["display_name"] == "Анна С."
    assert "full_name" not in data
    assert "username" not in data
    assert "Смирнова" not in json.dumps(row.payload, ensure_ascii=False)
    assert await _count(resources, select(func.count()).select_from(AuditLog)) == 1


async def test_second_registration_returns_the_same_learner_without_a_second_event(api, resources):
    first = await api.post("/internal/users/register", json=registration(1002))
    second = await api.post("/internal/users/register", json=registration(1002, username="changed"))

    assert second.status_code == 200
    assert second.json()["created"] is False
    assert second.json()["learner"]["id"] == first.json()["learner"]["id"]
    assert await _count(resources, select(func.count()).select_from(messaging.outbox)) == 1  # v3, once


async def test_concurrent_registrations_of_one_telegram_user_make_one_learner(api, resources):
    responses = await asyncio.gather(*(api.post("/internal/users/register", json=registration(1003)) for _ in range(8)))

    assert {r.status_code for r in responses} == {200}
    assert sum(r.json()["created"] for r in responses) == 1
    assert await _count(resources, select(func.count()).select_from(User)) == 1
    assert await _count(resources, select(func.count()).select_from(messaging.outbox)) == 1  # v3, once


async def test_idempotency_key_replays_the_first_answer(api):
    headers = {"idempotency-key": "tg:1:77:register"}
    first = await api.post("/internal/users/register", json=registration(1004), headers=headers)
    replay = await api.post("/internal/users/register", json=registration(1004), headers=headers)

    assert first.json()["created"] is True
    assert replay.json() == first.json()  # the replay says "created" too: it is the same answer


async def test_idempotency_key_reused_for_another_request_is_refused(api, resources):
    headers = {"idempotency-key": "tg:1:78:register"}
    await api.post("/internal/users/register", json=registration(1005), headers=headers)
    reused = await api.post("/internal/users/register", json=registration(1006), headers=headers)

    assert reused.status_code == 422
    assert "Idempotency-Key" in reused.json()["error"]["message"]
    assert await _count(resources, select(func.count()).select_from(User).where(User.telegram_id == 1006)) == 0


@pytest.mark.parametrize("authorization", ["", "Bearer not-a-token", "Basic abc"])
async def test_requests_without_a_valid_service_token_get_401_and_change_nothing(api, resources, authorization):
    response = await api.post(
        "/internal/users/register", json=registration(1007), headers={"authorization": authorization}
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert await _count(resources, select(func.count()).select_from(User)) == 0


async def test_token_for_another_service_is_refused(api, platform: TestPlatform, resources):
    token = service_token(platform, caller="gateway-bot", audience="billing")
    response = await api.post(
        "/internal/users/register", json=registration(1008), headers={"authorization": f"Bearer {token}"}
    )

    assert response.status_code == 401
    assert "not meant for users" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "body.telegram_id"),
        (registration(-5), "body.telegram_id"),
        (registration(1, locale="de"), "body.locale"),
        (registration(1, extra=1), "body.extra"),
        ({k: v for k, v in registration(1).items() if k != "consent"}, "body.consent"),
        (registration(1, consent={"version": "2026-11-01"}), "body.consent.accepted_at"),
        (registration(1, consent={"version": "", "accepted_at": CONSENT["accepted_at"]}), "body.consent.version"),
        (registration(1, consent={"version": "v", "accepted_at": "2026-11-20T10:00:00"}), "body.consent.accepted_at"),
        # consent recorded as given in year 1 or 9999 (QA): a moment that did not happen
        (registration(1, consent={"version": "v", "accepted_at": "0001-01-01T00:00:00Z"}), "body.consent.accepted_at"),
        (registration(1, consent={"version": "v", "accepted_at": "9999-12-31T23:59:59Z"}), "body.consent.accepted_at"),
        (registration(1, full_name="A"), "body.full_name"),
        (registration(1, full_name=None), "body.full_name"),
        (registration(1, city=" "), "body.city"),
        (registration(1, phone="call me"), "body.phone"),
    ],
)
async def test_invalid_registration_gets_422_naming_the_field_and_stores_nothing(api, resources, payload, field):
    response = await api.post("/internal/users/register", json=payload)

    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    assert await _count(resources, select(func.count()).select_from(User)) == 0


async def test_a_phone_with_a_nul_character_gets_422_and_stores_nothing(api, resources):
    response = await api.post("/internal/users/register", json=registration(1018, phone="+7916\u00001234567"))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_failed"
    assert await _count(resources, select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"consent": {"version": "2026-11-01", "accepted_at": "9999-12-31T23:59:59-05:00"}},  # past year 9999 in UTC
        {"full_name": "Анна \ud800 Смирнова"},  # an unpaired surrogate: valid JSON, no text
    ],
)
async def test_a_value_past_the_calendar_or_not_text_gets_422_and_stores_nothing(api, resources, changes):
    body = json.dumps(registration(1019, **changes), ensure_ascii=True)
    response = await api.post("/internal/users/register", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 422
    assert await _count(resources, select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("full_name", "Анна\nСмирнова"),
        ("full_name", "Анна \u202eавонримС"),
        ("city", "Москва\r\nКазань"),
        ("city", "\u2066Москва\u2069"),
        ("username", "anna\u200d_nails"),
        ("username", "anna\nnails"),
    ],
)
async def test_text_with_control_or_format_characters_gets_422_and_stores_nothing(api, resources, field, value):
    response = await api.post("/internal/users/register", json=registration(1020, **{field: value}))

    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert [(d["field"], d["message"].split(":")[0]) for d in details] == [(f"body.{field}", "control_characters")]
    assert await _count(resources, select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        ("8 (916) 123-45-67", "not_e164"),  # reading a typed number is the gateway's part
        ("+7 916 123 45 67", "not_e164"),
        ("79161234567", "not_e164"),
        ("7+9161234567", "not_e164"),
        ("+7 916 123 45 67 890 12", "not_e164"),
        ("+9161234567", "invalid"),  # what the old rule made of «916 123 45 67»: no Indian number
        ("+7916123456", "too_short"),
        ("+12345", "too_short"),
        ("+78005553535", "service_number"),  # toll-free: it never reaches the learner
    ],
)
async def test_a_phone_not_in_valid_e164_gets_422_with_its_reason(api, resources, phone, reason):
    response = await api.post("/internal/users/register", json=registration(1019, phone=phone))

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    [detail] = error["details"]
    assert detail["field"] == "body.phone"
    assert detail["message"].startswith(f"invalid_phone ({reason})")
    assert await _count(resources, select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize(
    "phone",
    [
        "+79161234567",
        "+74951234567",  # a Moscow landline: it can be called
        "+84912345678",  # Vietnam, which the old rule turned into +74912345678
        "+380501234567",
        "+442079460958",
        "+14155552671",
    ],
)
async def test_a_valid_e164_phone_is_stored_as_sent(api, resources, phone):
    response = await api.post("/internal/users/register", json=registration(1020, phone=phone))

    assert response.status_code == 200, response.text
    assert response.json()["learner"]["phone"] == phone
    async with resources.sessionmaker() as session:
        assert (await session.execute(select(User.phone).where(User.telegram_id == 1020))).scalar_one() == phone


async def test_registration_records_the_consent_with_its_version_and_time(api, resources):
    response = await api.post("/internal/users/register", json=registration(1021, city="Казань"))

    learner = response.json()["learner"]
    assert learner["consent_personal_data"] is True
    assert learner["consent_version"] == "2026-11-01"
    async with resources.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.telegram_id == 1021))).scalar_one()
    assert user.consent_at is not None
    assert user.consent_at.isoformat() == "2026-11-20T07:00:00+00:00"
    assert (user.full_name, user.city) == ("Анна Смирнова", "Казань")


async def test_an_account_without_consent_is_completed_by_registration(api, resources):
    async with resources.sessionmaker() as session:  # made before the bot asked for consent
        session.add(User(telegram_id=1022, locale="ru"))
        await session.commit()

    response = await api.post("/internal/users/register", json=registration(1022))

    assert response.status_code == 200, response.text
    assert response.json()["created"] is False
    assert response.json()["learner"]["consent_personal_data"] is True
    assert response.json()["learner"]["full_name"] == "Анна Смирнова"
    async with resources.sessionmaker() as session:
        rows = (await session.execute(select(messaging.outbox))).all()
    [row] = rows
    assert row.event_type == "users.profile_updated.v3"
    # the name appeared (as a display name), and the city brought its zone (the account was on the default one)
    assert set(row.payload["data"]["changed_fields"]) == {"display_name", "city", "time_zone"}
    assert row.payload["data"]["display_name"] == "Анна С."
    assert row.payload["data"]["revision"] == response.json()["learner"]["revision"] == 2


async def test_lookup_by_id_and_telegram_id(api):
    created = (await api.post("/internal/users/register", json=registration(1009, locale="en"))).json()
    user_id = created["learner"]["id"]

    assert (await api.get(f"/internal/users/{user_id}")).json()["telegram_id"] == 1009
    assert (await api.get("/internal/users/by-telegram/1009")).json()["id"] == user_id
    missing = await api.get("/internal/users/999999")
    assert missing.status_code == 404
    assert (await api.get("/internal/users/0")).status_code == 422


async def test_an_id_beyond_its_column_is_refused_not_a_server_error(api):
    # telegram_id is a bigint, the learner's id an integer: one more than each can hold
    beyond_bigint, beyond_integer = 2**63, 2**31

    lookup = await api.get(f"/internal/users/by-telegram/{beyond_bigint}")
    by_id = await api.get(f"/internal/users/{beyond_integer}")
    registered = await api.post("/internal/users/register", json=registration(beyond_bigint))

    assert lookup.status_code == 422, lookup.text
    assert lookup.json()["error"]["code"] == "validation_failed"
    assert by_id.status_code == 422, by_id.text
    assert registered.status_code == 422, registered.text
    assert (await api.get(f"/internal/users/by-telegram/{beyond_bigint - 1}")).status_code == 404


async def test_relay_publishes_the_registration_event(api, resources, event_probe):
    await api.post("/internal/users/register", json=registration(1010))
    relay = OutboxRelay(resources.settings, resources.sessionmaker, messaging)
    try:
        published = await relay.publish_pending()
    finally:
        await relay.close()

    assert published == 1
    event = await event_probe.next("users.user_registered.v3")
    assert event["data"]["telegram_id"] == 1010
    assert event["specversion"] == "1.0"
    assert event["partitionkey"] == str(event["data"]["user_id"])
