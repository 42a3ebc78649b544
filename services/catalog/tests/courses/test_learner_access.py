"""Learners keep what they enrolled in: a course withdrawn after publication (archived or hidden) is still
served with `include_archived` (the gateway asks for it only for a learner progress says is enrolled),
while browsing, the plain read and the listing never show it. Content edits reach both reads."""

import pytest

pytestmark = pytest.mark.integration

THREE_LESSONS = [
    {"title": "Подготовка рабочего места", "order": 1, "is_free": True, "video_duration": 540},
    {"title": "Снятие покрытия", "order": 2, "video_url": "https://cdn.example/2.mp4", "video_duration": 1260},
    {
        "title": "Покрытие гель-лаком",
        "order": 3,
        "description": "Топ, база, цвет",
        "video_url": "https://cdn.example/3.mp4",
        "pdf_url": "https://cdn.example/3.pdf",
        "video_duration": 900,
    },
]


def _held(api, course_id: int):
    return api.get(f"/internal/courses/{course_id}", params={"include_archived": "true"})


async def test_an_archived_course_keeps_its_content_for_learners_and_leaves_the_catalog(api, new_course):
    course = await new_course(publish=True, price="0", lessons=THREE_LESSONS)
    # Both reads cached while the course is published: archiving must reach them.
    assert (await api.get(f"/internal/courses/{course['id']}")).status_code == 200
    assert (await _held(api, course["id"])).status_code == 200

    archived = await api.post(f"/internal/courses/{course['id']}/archive")
    browsing = await api.get(f"/internal/courses/{course['id']}")
    held = await _held(api, course["id"])
    listing = await api.get("/internal/courses", params={"category": "manicure"})

    assert archived.status_code == 200
    assert browsing.status_code == 404
    assert browsing.json()["error"]["code"] == "course_not_found"
    assert held.status_code == 200, held.text
    body = held.json()
    assert (body["status"], body["title"]) == ("archived", course["title"])
    assert body["archived_at"] is not None
    third = body["lessons"][2]
    assert (third["order"], third["title"], third["video_url"], third["pdf_url"]) == (
        3,
        "Покрытие гель-лаком",
        "https://cdn.example/3.mp4",
        "https://cdn.example/3.pdf",
    )
    assert third["description"] == "Топ, база, цвет"
    assert listing.json()["total"] == 0


async def test_a_hidden_course_is_held_but_a_draft_never_is(api, new_course):
    hidden = await new_course(publish=True, lessons=THREE_LESSONS)
    await api.patch(f"/internal/courses/{hidden['id']}", json={"is_active": False})
    draft = await new_course(title="Черновик")
    archived_draft = await new_course(title="Архивный черновик", archive=True)

    held = await _held(api, hidden["id"])
    browsing = await api.get(f"/internal/courses/{hidden['id']}")
    drafts = [await _held(api, course["id"]) for course in (draft, archived_draft)]

    assert held.status_code == 200, held.text
    assert (held.json()["status"], held.json()["is_active"], held.json()["lessons_count"]) == ("published", False, 3)
    assert browsing.status_code == 404
    assert [response.status_code for response in drafts] == [404, 404]
    assert {response.json()["error"]["code"] for response in drafts} == {"course_not_found"}
    assert (await api.get("/internal/courses")).json()["total"] == 0


# Regression guards of the update paths (they held before; they now cover `include_archived` too).


async def test_a_lesson_renamed_mid_course_shows_its_new_title_in_both_reads(api, new_course):
    course = await new_course(publish=True, lessons=THREE_LESSONS)
    third = course["lessons"][2]
    await api.get(f"/internal/courses/{course['id']}")
    await _held(api, course["id"])

    edited = await api.patch(
        f"/internal/courses/{course['id']}/lessons/{third['id']}", json={"title": "Покрытие: топ и база"}
    )
    browsing = (await api.get(f"/internal/courses/{course['id']}")).json()
    held = (await _held(api, course["id"])).json()

    assert edited.status_code == 200, edited.text
    assert browsing["lessons"][2]["title"] == held["lessons"][2]["title"] == "Покрытие: топ и база"
    assert browsing["lessons"][2]["id"] == third["id"]


async def test_a_course_moved_to_another_category_is_found_there_and_by_id(api, new_course):
    course = await new_course(publish=True, lessons=THREE_LESSONS)
    await api.get("/internal/courses", params={"category": "manicure"})

    moved = await api.patch(f"/internal/courses/{course['id']}", json={"category": "pedicure"})
    manicure = (await api.get("/internal/courses", params={"category": "manicure"})).json()
    pedicure = (await api.get("/internal/courses", params={"category": "pedicure"})).json()
    by_id = (await api.get(f"/internal/courses/{course['id']}")).json()

    assert moved.status_code == 200, moved.text
    assert manicure["total"] == 0
    assert [item["id"] for item in pedicure["items"]] == [course["id"]]
    assert (by_id["category"], by_id["lessons_count"]) == ("pedicure", 3)


async def test_a_removed_lesson_is_gone_for_everyone_and_the_rest_move_up(api, new_course):
    course = await new_course(publish=True, lessons=THREE_LESSONS)
    second = course["lessons"][1]

    removed = await api.delete(f"/internal/courses/{course['id']}/lessons/{second['id']}")
    again = await api.patch(f"/internal/courses/{course['id']}/lessons/{second['id']}", json={"title": "Снова"})
    held = (await _held(api, course["id"])).json()

    assert removed.status_code == 200, removed.text
    assert [(lesson["title"], lesson["order"]) for lesson in held["lessons"]] == [
        ("Подготовка рабочего места", 1),
        ("Покрытие гель-лаком", 2),
    ]
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "lesson_not_found"
