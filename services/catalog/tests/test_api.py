"""Schemathesis over the service's OpenAPI: every check, with a valid token and without one.

The catalog the OpenAPI examples name is made first, through the API as an editor makes it: course 1
published with lessons 1..3, course 2 a draft with lesson 4, course 3 published; so every operation's
example (read course 1, publish course 2, archive course 3, reorder course 1's lessons...) succeeds."""

from typing import Any

import httpx
import pytest
from academy_runtime.api_tests import (
    ExpectedRefusal,
    api_test_tokens,
    test_api_conforms_to_openapi,
    test_api_refuses_unauthenticated,
)

__all__ = ["api_test_tokens", "test_api_conforms_to_openapi", "test_api_refuses_unauthenticated"]

# Facts of the data and rules across fields, which no schema holds:
_UNKNOWN_CATEGORY = "a category slug that is not in GET /internal/categories: 422"
_STARS_ARE_WHOLE = "a price in Telegram Stars (XTR) with a fraction: 422"
_CHAT_KIND = "a city community without its city or with a category, a profession one without a category: 422"


def _course(title: str, category: str, lessons: list[str]) -> dict[str, Any]:
    return {
        "title": title,
        "description": "С нуля до первой клиентки",
        "category": category,
        "price": "4900.00",
        "currency": "RUB",
        "lessons": [{"title": lesson, "order": n} for n, lesson in enumerate(lessons, start=1)],
    }


_COURSES = [
    (_course("Аппаратный маникюр: базовый курс", "manicure", ["Рабочее место", "Снятие покрытия", "Покрытие"]), True),
    (_course("Классический педикюр", "pedicure", ["Подготовка"]), False),
    (_course("Наращивание ресниц", "eyelashes", ["Материалы"]), True),
]


@pytest.fixture(autouse=True)
async def _example_catalog(api: httpx.AsyncClient) -> None:
    """Courses 1..3 and lessons 1..5 as the OpenAPI examples name them (each test starts empty)."""
    for number, (payload, published) in enumerate(_COURSES, start=1):
        response = await api.post("/internal/courses", json=payload)
        assert response.status_code == 201, response.text
        assert response.json()["id"] == number, response.text
        if published:
            response = await api.post(f"/internal/courses/{number}/publish")
            assert response.status_code == 200, response.text
    lessons = (await api.get("/internal/courses/1", params={"include_drafts": "true"})).json()["lessons"]
    assert [lesson["id"] for lesson in lessons] == [1, 2, 3], lessons


@pytest.fixture(scope="session")
def api_test_refusals() -> list[ExpectedRefusal]:
    return [
        ExpectedRefusal("GET /internal/courses", (422,), _UNKNOWN_CATEGORY),
        ExpectedRefusal("POST /internal/courses", (422,), f"{_UNKNOWN_CATEGORY}; {_STARS_ARE_WHOLE}"),
        ExpectedRefusal("PATCH /internal/courses/{course_id}", (422,), f"{_UNKNOWN_CATEGORY}; {_STARS_ARE_WHOLE}"),
        ExpectedRefusal("POST /internal/communities", (422,), f"{_CHAT_KIND}; {_UNKNOWN_CATEGORY}"),
        ExpectedRefusal("PATCH /internal/communities/{community_id}", (422,), f"{_CHAT_KIND}; {_UNKNOWN_CATEGORY}"),
    ]
