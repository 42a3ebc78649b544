import pytest
from academy_users.models import AuditLog, User, messaging
from sqlalchemy import func, select

from .test_registration import registration

pytestmark = pytest.mark.integration


async def _registered(api, telegram_id: int) -> int:
    response = await api.post("/internal/users/register", json=registration(telegram_id))
    return response.json()["learner"]["id"]


async def _profile_events(resources) -> list[dict]:
    async with resources.sessionmaker() as session:
        rows = (
            await session.execute(
                select(messaging.outbox.c.payload)
                .where(messaging.outbox.c.event_type == "users.profile_updated.v3")
                .order_by(messaging.outbox.c.id)
            )
        ).all()
    return [row.payload["data"] for row in rows]


async def _audit_actions(resources, user_id: int) -> list[str]:
    async with resources.sessionmaker() as session:
        stmt = select(AuditLog.action).where(AuditLog.user_id == user_id).order_by(AuditLog.id)
        return list((await session.execute(stmt)).scalars())


async def test_patch_changes_the_fields_given_and_publishes_profile_updated(api, resources):
    user_id = await _registered(api, 2001)

    response = await api.patch(f"/internal/users/{user_id}", json={"city": "Санкт-Петербург", "locale": "en"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["city"], body["locale"], body["full_name"]) == ("Санкт-Петербург", "en", "Анна Смирнова")
    [event] = await _profile_events(resources)
    assert event["user_id"] == user_id
    assert set(event["changed_fields"]) == {"city", "locale"}
    assert event["city"] == "Санкт-Петербург"
    assert event["display_name"] == "Анна С."
    assert "full_name" not in event
    assert "phone_changed" not in event
    assert await _audit_actions(resources, user_id) == ["registered", "profile_updated"]


async def test_a_new_phone_is_stored_and_never_published(api, resources):
    user_id = await _registered(api, 2002)

    response = await api.patch(f"/internal/users/{user_id}", json={"phone": "+79030001122"})

    assert response.json()["phone"] == "+79030001122"
    assert response.json()["revision"] == 2
    assert await _profile_events(resources) == []  # subscribers hold no phone: nothing to tell them
    assert await _outbox_count(resources) == 1  # the registration only
    async with resources.sessionmaker() as session:
        details = (
            await session.execute(select(AuditLog.details).where(AuditLog.action == "profile_updated"))
        ).scalar_one()
    assert details == {"fields": ["phone"]}


async def test_patch_that_changes_nothing_publishes_nothing(api, resources):
    user_id = await _registered(api, 2003)

    same = await api.patch(f"/internal/users/{user_id}", json={"city": "Москва", "phone": "+79161234567"})
    empty = await api.patch(f"/internal/users/{user_id}", json={})

    assert same.status_code == 200
    assert empty.status_code == 200
    assert await _profile_events(resources) == []
    assert await _audit_actions(resources, user_id) == ["registered"]


async def test_patch_with_an_idempotency_key_acts_once(api, resources):
    user_id = await _registered(api, 2004)
    headers = {"idempotency-key": "tg:1:90:profile"}

    first = await api.patch(f"/internal/users/{user_id}", json={"full_name": "Анна Петрова"}, headers=headers)
    await api.patch(f"/internal/users/{user_id}", json={"full_name": "Анна Смирнова"})
    replay = await api.patch(f"/internal/users/{user_id}", json={"full_name": "Анна Петрова"}, headers=headers)

    assert replay.json() == first.json()
    assert len(await _profile_events(resources)) == 2  # the replay changed nothing
    assert (await api.get(f"/internal/users/{user_id}")).json()["full_name"] == "Анна Смирнова"


async def test_a_new_full_name_with_the_same_display_name_publishes_nothing(api, resources):
    user_id = await _registered(api, 2006)  # «Анна Смирнова»: «Анна С.»

    same_shown = await api.patch(f"/internal/users/{user_id}", json={"full_name": "Анна Сергеевна Смирнова"})
    other_shown = await api.patch(f"/internal/users/{user_id}", json={"full_name": "Анна Петрова"})

    assert same_shown.json()["full_name"] == "Анна Сергеевна Смирнова"
    assert (same_shown.json()["revision"], other_shown.json()["revision"]) == (2, 3)
    [event] = await _profile_events(resources)
    assert (event["changed_fields"], event["display_name"], event["revision"]) == (["display_name"], "Анна П.", 3)
    assert "Петрова" not in str(event)
    assert await _audit_actions(resources, user_id) == ["registered", "profile_updated", "profile_updated"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"full_name": "A"}, "body.full_name"),
        ({"full_name": None}, "body.full_name"),
        ({"city": ""}, "body.city"),
        ({"city": "x" * 101}, "body.city"),
        ({"locale": "de"}, "body.locale"),
        ({"phone": "+7 (916) abc"}, "body.phone"),
        ({"phone": "123"}, "body.phone"),
        ({"phone": "8-903-000-11-22"}, "body.phone"),  # the gateway sends E.164
        ({"phone": "+9161234567"}, "body.phone"),  # no such Indian number
        ({"phone": "+78005553535"}, "body.phone"),
        ({"phone": None}, "body.phone"),
        ({"username": "other"}, "body.username"),
    ],
)
async def test_invalid_patch_gets_422_naming_the_field_and_changes_nothing(api, resources, payload, field):
    user_id = await _registered(api, 2005)

    response = await api.patch(f"/internal/users/{user_id}", json={"city": "Казань"} | payload)

    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    assert (await api.get(f"/internal/users/{user_id}")).json()["city"] == "Москва"
    assert await _profile_events(resources) == []


@pytest.mark.parametrize(
    ("payload", "code_point"),
    [
        ({"city": "Казань\nУфа"}, "U+000A"),
        ({"city": "\u202eнаказ"}, "U+202E"),
        ({"full_name": "Анна\nСмирнова"}, "U+000A"),
        ({"full_name": "Анна \u202eавонримС"}, "U+202E"),
        ({"full_name": "Анна\u200bСмирнова"}, "U+200B"),
        ({"city": "Омск\tТомск"}, "U+0009"),
        ({"city": "Омск\x1b[2J"}, "U+001B"),
    ],
)
async def test_an_operator_cannot_set_text_with_control_characters(api, support, resources, payload, code_point):
    user_id = await _registered(api, 2006)

    response = await support.patch(f"/internal/users/{user_id}", json=payload, headers={"x-audit-reason": "SUP-1"})

    assert response.status_code == 422, response.text
    (detail,) = response.json()["error"]["details"]
    assert detail["field"] == f"body.{next(iter(payload))}"
    assert detail["message"].startswith("control_characters")
    assert code_point in detail["message"]
    learner = (await api.get(f"/internal/users/{user_id}")).json()
    assert (learner["city"], learner["full_name"]) == ("Москва", "Анна Смирнова")
    assert await _profile_events(resources) == []


async def test_patch_of_an_unknown_learner_is_404(api, resources):
    response = await api.patch("/internal/users/999999", json={"city": "Казань"})

    assert response.status_code == 404
    assert await _count_users(resources) == 0


async def _outbox_count(resources) -> int:
    async with resources.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(messaging.outbox))).scalar_one()


async def _count_users(resources) -> int:
    async with resources.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(User))).scalar_one()
