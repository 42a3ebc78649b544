"""Operator commands on courses and lessons: validation, numbering 1..n, and the events they announce."""

from datetime import datetime

import pytest
from academy_runtime.testing import TestPlatform, service_token

pytestmark = pytest.mark.integration

UPDATED = "catalog.course_updated.v1"


def _types(rows) -> list[str]:
    return [row.event_type for row in rows]


def _stamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


# -- editing a course ----------------------------------------------------------------------------


async def test_editing_a_draft_changes_it_silently(api, new_course, outbox):
    draft = await new_course()

    response = await api.patch(f"/internal/courses/{draft['id']}", json={"title": "Новое название", "price": "5900"})

    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Новое название"
    assert response.json()["price"] == "5900.00"
    assert await outbox() == []


async def test_editing_a_published_course_announces_the_whole_course(api, new_course, outbox):
    course = await new_course(publish=True)

    response = await api.patch(
        f"/internal/courses/{course['id']}",
        json={"price": "3900.50", "category": "pedicure", "is_top": True, "full_description": None},
    )

    assert response.status_code == 200, response.text
    rows = await outbox()
    assert _types(rows) == ["catalog.course_published.v1", UPDATED]
    data = rows[1].payload["data"]
    assert data["course_id"] == course["id"]
    assert data["price"] == {"amount": "3900.50", "currency": "RUB"}
    assert data["category"] == "pedicure"
    assert data["is_top"] is True
    assert [lesson["lesson_id"] for lesson in data["lessons"]] == [lesson["id"] for lesson in course["lessons"]]
    assert _stamp(data["updated_at"]) > _stamp(rows[0].payload["data"]["published_at"])
    assert _stamp(data["updated_at"]) == _stamp(response.json()["updated_at"])


async def test_every_change_moves_updated_at_forward(api, new_course, outbox):
    course = await new_course(publish=True)

    for price in ("100", "200", "300"):
        assert (await api.patch(f"/internal/courses/{course['id']}", json={"price": price})).status_code == 200

    stamps = [_stamp(row.payload["data"]["updated_at"]) for row in await outbox() if row.event_type == UPDATED]
    assert len(stamps) == 3
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 3


async def test_an_edit_that_changes_nothing_announces_nothing(api, new_course, outbox):
    course = await new_course(publish=True)

    response = await api.patch(f"/internal/courses/{course['id']}", json={"title": course["title"], "price": "4900"})

    assert response.status_code == 200
    assert response.json()["updated_at"] == course["updated_at"]
    assert _types(await outbox()) == ["catalog.course_published.v1"]


async def test_deactivating_hides_the_course_from_learners_and_tells_consumers(api, new_course, outbox):
    course = await new_course(publish=True)

    response = await api.patch(f"/internal/courses/{course['id']}", json={"is_active": False})

    assert response.status_code == 200
    assert (await outbox())[-1].payload["data"]["is_active"] is False
    assert (await api.get(f"/internal/courses/{course['id']}")).status_code == 404
    assert (await api.get("/internal/courses")).json()["total"] == 0
    operator_view = await api.get(f"/internal/courses/{course['id']}", params={"include_drafts": "true"})
    assert operator_view.json()["is_active"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "body.title"),
        ({"title": None}, "body.title"),
        ({"description": None}, "body.description"),
        ({"price": "-1"}, "body.price"),
        ({"price": None}, "body.price"),
        ({"price": "1.001"}, "body.price"),
        ({"currency": "rub"}, "body.currency"),
        ({"currency": "XTR", "price": "10.5"}, "body.price"),
        ({"currency": "XTR"}, "body.currency"),  # the course costs 4900.50: no fractions in Stars
        ({"category": "nails"}, "body.category"),
        ({"category": "Nails!"}, "body.category"),
        ({"is_active": None}, "body.is_active"),
        ({"is_top": "maybe"}, "body.is_top"),
        ({"duration_hours": -1}, "body.duration_hours"),
        ({"cover_image_url": "ftp://x"}, "body.cover_image_url"),
        ({"status": "published"}, "body.status"),
    ],
)
async def test_invalid_edit_gets_422_naming_the_field_and_changes_nothing(api, new_course, outbox, body, field):
    course = await new_course(publish=True, price="4900.50")

    response = await api.patch(f"/internal/courses/{course['id']}", json=body)

    assert response.status_code == 422, response.text
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    after = await api.get(f"/internal/courses/{course['id']}")
    assert after.json() == course
    assert _types(await outbox()) == ["catalog.course_published.v1"]


async def test_an_archived_course_cannot_be_edited(api, new_course):
    course = await new_course(publish=True, archive=True)

    response = await api.patch(f"/internal/courses/{course['id']}", json={"title": "Ожил"})
    lesson = await api.post(f"/internal/courses/{course['id']}/lessons", json={"title": "Ещё урок"})

    assert response.status_code == lesson.status_code == 409
    assert "archived" in response.json()["error"]["message"]


async def test_an_idempotency_key_makes_a_retried_edit_announce_once(api, new_course, outbox):
    course = await new_course(publish=True)
    headers = {"idempotency-key": "op:edit:1"}

    first = await api.patch(f"/internal/courses/{course['id']}", json={"price": "1000"}, headers=headers)
    retry = await api.patch(f"/internal/courses/{course['id']}", json={"price": "1000"}, headers=headers)

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert _types(await outbox()) == ["catalog.course_published.v1", UPDATED]


async def test_only_operator_services_may_edit(api, platform: TestPlatform, new_course):
    course = await new_course(publish=True)
    token = service_token(platform, caller="progress", audience="catalog")

    response = await api.patch(
        f"/internal/courses/{course['id']}", json={"price": "1"}, headers={"authorization": f"Bearer {token}"}
    )

    assert response.status_code == 403
    assert (await api.get(f"/internal/courses/{course['id']}")).json()["price"] == "4900.00"


async def test_lessons_of_a_new_course_are_numbered_from_one_without_gaps(api, make_payload):
    response = await api.post(
        "/internal/courses", json=make_payload(lessons=[{"title": "A", "order": 1}, {"title": "B", "order": 3}])
    )

    assert response.status_code == 422
    assert "body.lessons" in [d["field"] for d in response.json()["error"]["details"]]


# -- lessons -------------------------------------------------------------------------------------


def _orders(course: dict) -> list[tuple[str, int]]:
    return [(lesson["title"], lesson["order"]) for lesson in course["lessons"]]


async def test_a_lesson_is_added_last_by_default(api, new_course, outbox):
    course = await new_course(publish=True)

    response = await api.post(
        f"/internal/courses/{course['id']}/lessons",
        json={"title": "Покрытие", "video_url": "https://cdn.example/3.mp4", "video_duration": 900},
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert _orders(body) == [("Подготовка рабочего места", 1), ("Снятие покрытия", 2), ("Покрытие", 3)]
    assert body["lessons"][2]["course_id"] == course["id"]
    assert body["lessons_count"] == 3
    data = (await outbox())[-1].payload["data"]
    assert [(lesson["title"], lesson["order"]) for lesson in data["lessons"]] == _orders(body)


async def test_a_lesson_inserted_at_a_position_moves_the_later_ones_down(api, new_course):
    course = await new_course()

    response = await api.post(f"/internal/courses/{course['id']}/lessons", json={"title": "Теория", "order": 1})

    assert response.status_code == 201, response.text
    assert _orders(response.json()) == [("Теория", 1), ("Подготовка рабочего места", 2), ("Снятие покрытия", 3)]
    # Lessons keep their ids when they move.
    assert [lesson["id"] for lesson in response.json()["lessons"][1:]] == [lesson["id"] for lesson in course["lessons"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "X", "order": 4}, "body.order"),  # the course has 2 lessons: 3 is the furthest
        ({"title": "X", "order": 0}, "body.order"),
        ({"title": ""}, "body.title"),
        ({"title": "X", "video_duration": -1}, "body.video_duration"),
        ({"title": "X", "pdf_url": "file:///etc/passwd"}, "body.pdf_url"),
        ({"title": "X", "is_free": "sometimes"}, "body.is_free"),
    ],
)
async def test_invalid_new_lesson_gets_422_naming_the_field(api, new_course, body, field):
    course = await new_course()

    response = await api.post(f"/internal/courses/{course['id']}/lessons", json=body)

    assert response.status_code == 422, response.text
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    after = await api.get(f"/internal/courses/{course['id']}", params={"include_drafts": "true"})
    assert after.json()["lessons_count"] == 2


async def test_editing_a_lesson_announces_the_course(api, new_course, outbox):
    course = await new_course(publish=True)
    lesson = course["lessons"][1]

    response = await api.patch(
        f"/internal/courses/{course['id']}/lessons/{lesson['id']}",
        json={"title": "Снятие гель-лака", "is_free": True, "pdf_url": "https://cdn.example/2.pdf"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["lessons"][1]["title"] == "Снятие гель-лака"
    assert response.json()["free_lessons_count"] == 2
    data = (await outbox())[-1].payload["data"]
    assert data["lessons"][1] == {
        "lesson_id": lesson["id"],
        "order": 2,
        "title": "Снятие гель-лака",
        "is_free": True,
        "video_duration": 1260,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": None}, "body.title"),
        ({"is_free": None}, "body.is_free"),
        ({"video_duration": -5}, "body.video_duration"),
        ({"order": 2}, "body.order"),  # positions change through the order endpoint
    ],
)
async def test_invalid_lesson_edit_gets_422_naming_the_field(api, new_course, body, field):
    course = await new_course()

    response = await api.patch(f"/internal/courses/{course['id']}/lessons/{course['lessons'][0]['id']}", json=body)

    assert response.status_code == 422, response.text
    assert field in [d["field"] for d in response.json()["error"]["details"]]


async def test_a_lesson_of_another_course_is_404(api, new_course):
    first = await new_course()
    second = await new_course()

    response = await api.patch(
        f"/internal/courses/{first['id']}/lessons/{second['lessons'][0]['id']}", json={"title": "Чужой"}
    )

    assert response.status_code == 404


async def test_deleting_a_lesson_closes_the_gap(api, new_course, outbox):
    course = await new_course(publish=True)
    added = await api.post(f"/internal/courses/{course['id']}/lessons", json={"title": "Покрытие"})
    first_id = course["lessons"][0]["id"]

    response = await api.delete(f"/internal/courses/{course['id']}/lessons/{first_id}")

    assert response.status_code == 200, response.text
    assert _orders(response.json()) == [("Снятие покрытия", 1), ("Покрытие", 2)]
    assert added.status_code == 201
    data = (await outbox())[-1].payload["data"]
    assert [lesson["order"] for lesson in data["lessons"]] == [1, 2]
    assert first_id not in [lesson["lesson_id"] for lesson in data["lessons"]]


async def test_the_only_lesson_of_a_published_course_stays(api, new_course):
    course = await new_course(publish=True, lessons=[{"title": "Единственный", "order": 1}])

    response = await api.delete(f"/internal/courses/{course['id']}/lessons/{course['lessons'][0]['id']}")

    assert response.status_code == 409


async def test_reordering_swaps_positions_in_one_transaction(api, new_course, outbox):
    course = await new_course(publish=True)
    await api.post(f"/internal/courses/{course['id']}/lessons", json={"title": "Покрытие"})
    current = (await api.get(f"/internal/courses/{course['id']}")).json()["lessons"]
    reversed_ids = [lesson["id"] for lesson in reversed(current)]

    response = await api.put(f"/internal/courses/{course['id']}/lessons/order", json={"lesson_ids": reversed_ids})

    assert response.status_code == 200, response.text
    assert [lesson["id"] for lesson in response.json()["lessons"]] == reversed_ids
    assert [lesson["order"] for lesson in response.json()["lessons"]] == [1, 2, 3]
    data = (await outbox())[-1].payload["data"]
    assert data["lessons"] == sorted(data["lessons"], key=lambda lesson: lesson["order"])
    assert [lesson["lesson_id"] for lesson in data["lessons"]] == reversed_ids


@pytest.mark.parametrize("ids", ["missing", "duplicate", "foreign"])
async def test_a_reorder_must_list_every_lesson_once(api, new_course, outbox, ids):
    course = await new_course(publish=True)
    other = await new_course()
    first, second = (lesson["id"] for lesson in course["lessons"])
    lesson_ids = {
        "missing": [second],
        "duplicate": [second, first, first],
        "foreign": [second, other["lessons"][0]["id"]],
    }[ids]

    response = await api.put(f"/internal/courses/{course['id']}/lessons/order", json={"lesson_ids": lesson_ids})

    assert response.status_code == 422
    assert "body.lesson_ids" in [d["field"] for d in response.json()["error"]["details"]]
    assert _types(await outbox()) == ["catalog.course_published.v1"]
