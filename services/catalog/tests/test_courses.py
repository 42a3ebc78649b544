from decimal import Decimal

import pytest
from academy_catalog.models import Course, messaging
from academy_runtime.relay import OutboxRelay
from academy_runtime.testing import TestPlatform, service_token
from sqlalchemy import func, select

pytestmark = pytest.mark.integration


async def _outbox(resources) -> list:
    async with resources.sessionmaker() as session:
        return list((await session.execute(select(messaging.outbox).order_by(messaging.outbox.c.id))).all())


async def _count_courses(resources) -> int:
    async with resources.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(Course))).scalar_one()


# -- create ------------------------------------------------------------------------------------


async def test_create_makes_a_draft_with_its_lessons_in_order_and_publishes_nothing(api, resources, make_payload):
    response = await api.post("/internal/courses", json=make_payload())

    assert response.status_code == 201, response.text
    course = response.json()
    assert course["status"] == "draft"
    assert course["published_at"] is None
    assert course["price"] == "4900.00"
    assert course["currency"] == "RUB"
    assert [lesson["order"] for lesson in course["lessons"]] == [1, 2]
    assert [lesson["title"] for lesson in course["lessons"]] == ["Подготовка рабочего места", "Снятие покрытия"]
    assert course["lessons_count"] == 2
    assert all(lesson["id"] > 0 for lesson in course["lessons"])
    assert await _outbox(resources) == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "body.title"),
        ({"title": None}, "body.title"),
        ({"price": "-1"}, "body.price"),
        ({"price": "10.005"}, "body.price"),
        ({"price": "123456789.00"}, "body.price"),
        ({"currency": "rub"}, "body.currency"),
        ({"currency": "XTR", "price": "10.5"}, "body.price"),
        ({"category": "Nails!"}, "body.category"),
        ({"category": "nails"}, "body.category"),  # well-formed but unknown: found by the service
        ({"duration_hours": -1}, "body.duration_hours"),
        ({"lessons": []}, "body.lessons"),
        ({"lessons": [{"title": "A", "order": 1}, {"title": "B", "order": 1}]}, "body.lessons"),
        ({"lessons": [{"title": "A", "order": 0}]}, "body.lessons.0.order"),
        ({"lessons": [{"title": "A", "order": 1, "video_duration": -5}]}, "body.lessons.0.video_duration"),
        ({"lessons": [{"title": "A", "order": 1, "video_url": "ftp://x"}]}, "body.lessons.0.video_url"),
        ({"unexpected": 1}, "body.unexpected"),
    ],
)
async def test_invalid_course_gets_422_naming_the_field(api, resources, make_payload, overrides, field):
    response = await api.post("/internal/courses", json=make_payload(**overrides))

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert field in [d["field"] for d in error["details"]]
    assert await _count_courses(resources) == 0


async def test_only_operator_services_may_create_courses(api, platform: TestPlatform, resources, make_payload):
    token = service_token(platform, caller="billing", audience="catalog")
    response = await api.post("/internal/courses", json=make_payload(), headers={"authorization": f"Bearer {token}"})

    assert response.status_code == 403
    assert "billing" in response.json()["error"]["message"]
    assert await _count_courses(resources) == 0


async def test_idempotency_key_replays_the_creation_instead_of_making_a_second_course(api, resources, make_payload):
    headers = {"idempotency-key": "op:create:1"}
    first = await api.post("/internal/courses", json=make_payload(), headers=headers)
    replay = await api.post("/internal/courses", json=make_payload(), headers=headers)

    assert first.status_code == replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"]
    assert await _count_courses(resources) == 1


# -- publish and archive -------------------------------------------------------------------------


async def test_publish_writes_course_published_with_money_lessons_and_category(api, resources, new_course):
    draft = await new_course()

    response = await api.post(f"/internal/courses/{draft['id']}/publish")

    assert response.status_code == 200, response.text
    course = response.json()
    assert course["status"] == "published"
    assert course["published_at"] is not None
    rows = await _outbox(resources)
    assert [r.event_type for r in rows] == ["catalog.course_published.v1"]
    data = rows[0].payload["data"]
    assert data["course_id"] == draft["id"]
    assert data["category"] == "manicure"
    assert data["price"] == {"amount": "4900.00", "currency": "RUB"}
    assert data["is_active"] is True
    assert data["duration_hours"] == 12
    assert [(lesson["lesson_id"], lesson["order"]) for lesson in data["lessons"]] == [
        (lesson["id"], lesson["order"]) for lesson in draft["lessons"]
    ]
    assert data["lessons"][0] == {
        "lesson_id": draft["lessons"][0]["id"],
        "order": 1,
        "title": "Подготовка рабочего места",
        "is_free": True,
        "video_duration": 540,
    }
    assert rows[0].payload["subject"] == f"course/{draft['id']}"


async def test_publishing_twice_publishes_one_event(api, resources, new_course):
    draft = await new_course()

    first = await api.post(f"/internal/courses/{draft['id']}/publish")
    second = await api.post(f"/internal/courses/{draft['id']}/publish")

    assert first.status_code == second.status_code == 200
    assert second.json()["published_at"] == first.json()["published_at"]
    assert len(await _outbox(resources)) == 1


async def test_the_relay_puts_course_published_on_the_bus(api, resources, new_course, event_probe):
    course = await new_course(publish=True, price="0", title="Бесплатный урок по бровям", category="eyebrows")
    relay = OutboxRelay(resources.settings, resources.sessionmaker, messaging)
    try:
        assert await relay.publish_pending() == 1
    finally:
        await relay.close()

    event = await event_probe.next("catalog.course_published.v1")
    assert event["data"]["course_id"] == course["id"]
    assert event["data"]["price"] == {"amount": "0.00", "currency": "RUB"}
    assert event["source"] == "/beauty-academy/catalog"


async def test_archive_writes_course_archived_and_archived_courses_cannot_be_published(api, resources, new_course):
    course = await new_course(publish=True)

    archived = await api.post(f"/internal/courses/{course['id']}/archive")
    again = await api.post(f"/internal/courses/{course['id']}/archive")
    republish = await api.post(f"/internal/courses/{course['id']}/publish")

    assert archived.status_code == again.status_code == 200
    assert archived.json()["status"] == "archived"
    assert archived.json()["archived_at"] is not None
    assert republish.status_code == 409
    assert "archived" in republish.json()["error"]["message"]
    rows = await _outbox(resources)
    assert [r.event_type for r in rows] == ["catalog.course_published.v1", "catalog.course_archived.v1"]
    assert rows[1].payload["data"] == {"course_id": course["id"], "archived_at": rows[1].payload["time"]}


async def test_archiving_a_draft_is_silent(api, resources, new_course):
    draft = await new_course()

    response = await api.post(f"/internal/courses/{draft['id']}/archive")

    assert response.status_code == 200
    assert response.json()["status"] == "archived"
    assert await _outbox(resources) == []


@pytest.mark.parametrize(("method", "suffix"), [("get", ""), ("post", "/publish"), ("post", "/archive")])
async def test_unknown_course_is_404(api, method, suffix):
    response = await getattr(api, method)(f"/internal/courses/999999{suffix}")

    assert response.status_code == 404
    assert "999999" in response.json()["error"]["message"]


async def test_invalid_course_id_is_422(api):
    response = await api.get("/internal/courses/0")

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "path.course_id"


# -- reading -------------------------------------------------------------------------------------


async def test_get_returns_lessons_in_order_and_hides_drafts_unless_asked(api, new_course):
    draft = await new_course()

    hidden = await api.get(f"/internal/courses/{draft['id']}")
    shown = await api.get(f"/internal/courses/{draft['id']}", params={"include_drafts": "true"})

    assert hidden.status_code == 404
    assert shown.status_code == 200
    assert [lesson["order"] for lesson in shown.json()["lessons"]] == [1, 2]
    assert Decimal(shown.json()["price"]) == Decimal("4900.00")


async def test_listing_shows_published_active_courses_top_first_with_pages(api, new_course):
    top = await new_course(publish=True, title="Топ курса месяца", is_top=True)
    older = await new_course(publish=True, title="Маникюр для начинающих")
    newer = await new_course(publish=True, title="Комбинированный маникюр")
    await new_course(publish=True, title="Скрытый курс", is_active=False)
    await new_course(title="Черновик")
    await new_course(publish=True, archive=True, title="Архивный курс")
    await new_course(publish=True, title="Педикюр", category="pedicure")

    manicure = await api.get("/internal/courses", params={"category": "manicure"})
    second_page = await api.get("/internal/courses", params={"category": "manicure", "page": 2, "page_size": 2})
    everything = await api.get("/internal/courses")

    assert manicure.status_code == 200, manicure.text
    body = manicure.json()
    assert [c["id"] for c in body["items"]] == [top["id"], newer["id"], older["id"]]
    assert body["total"] == 3
    assert body["items"][0]["lessons_count"] == 2
    assert "lessons" not in body["items"][0]
    assert [c["id"] for c in second_page.json()["items"]] == [older["id"]]
    assert second_page.json()["total"] == 3
    assert everything.json()["total"] == 4


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "nails"}, "query.category"),
        ({"category": "NAILS"}, "query.category"),
        ({"page": 0}, "query.page"),
        ({"page_size": 101}, "query.page_size"),
    ],
)
async def test_invalid_listing_parameters_get_422_naming_the_parameter(api, params, field):
    response = await api.get("/internal/courses", params=params)

    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["error"]["details"]]
