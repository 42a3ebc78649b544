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
