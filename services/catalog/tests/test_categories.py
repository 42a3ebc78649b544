import pytest

pytestmark = pytest.mark.integration


async def test_categories_are_listed_in_display_order(api):
    response = await api.get("/internal/categories")

    assert response.status_code == 200
    body = response.json()
    assert [c["slug"] for c in body] == [
        "manicure",
        "pedicure",
        "eyelashes",
        "podology",
        "eyebrows",
        "marketing",
        "business",
    ]
    assert body[0] == {"slug": "manicure", "title_ru": "Маникюр", "title_en": "Manicure", "sort_order": 1}


async def test_categories_need_a_service_token(api):
    response = await api.get("/internal/categories", headers={"authorization": ""})

    assert response.status_code == 401


async def test_operators_add_a_category_after_the_others(api):
    response = await api.post("/internal/categories", json={"slug": "hair", "title_ru": "Волосы", "title_en": "Hair"})

    assert response.status_code == 201, response.text
    assert response.json() == {"slug": "hair", "title_ru": "Волосы", "title_en": "Hair", "sort_order": 8}
    assert [c["slug"] for c in (await api.get("/internal/categories")).json()][-1] == "hair"
    course = await api.post(
        "/internal/courses",
        json={"title": "Стрижки", "description": "Основы", "category": "hair", "lessons": [{"title": "A", "order": 1}]},
    )
    assert course.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "Hair Care", "title_ru": "Волосы", "title_en": "Hair"}, "body.slug"),
        ({"slug": "hair", "title_ru": "", "title_en": "Hair"}, "body.title_ru"),
        ({"slug": "hair", "title_ru": "Волосы"}, "body.title_en"),
        ({"slug": "hair", "title_ru": "Волосы", "title_en": "Hair", "sort_order": -1}, "body.sort_order"),
    ],
)
async def test_invalid_category_gets_422_naming_the_field(api, body, field):
    response = await api.post("/internal/categories", json=body)

    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["error"]["details"]]


async def test_an_existing_category_is_a_conflict(api):
    response = await api.post(
        "/internal/categories", json={"slug": "manicure", "title_ru": "Маникюр", "title_en": "Manicure"}
    )

    assert response.status_code == 409
