"""Community chats: operator commands, and the learner lookup by city (any case) and categories."""

import pytest

pytestmark = pytest.mark.integration


def city_chat(city: str, title: str | None = None, **extra) -> dict:
    return {
        "title": f"Мастера: {city}" if title is None else title,
        "type": "city",
        "city": city,
        "telegram_link": "https://t.me/academy_city",
        **extra,
    }


def profession_chat(category: str, title: str | None = None, **extra) -> dict:
    return {
        "title": f"Профессия: {category}" if title is None else title,
        "type": "profession",
        "category": category,
        "telegram_link": "tg://resolve?domain=academy_pro",
        **extra,
    }


@pytest.fixture
def add_community(api):
    async def add(body: dict) -> dict:
        response = await api.post("/internal/communities", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    return add


async def test_city_chats_match_any_letter_case_and_come_first(api, add_community):
    moscow = await add_community(city_chat("Москва", "Мастера Москвы"))
    await add_community(city_chat("Казань"))
    manicure = await add_community(profession_chat("manicure", "Маникюр"))
    eyelashes = await add_community(profession_chat("eyelashes", "Ресницы"))
    await add_community(profession_chat("business", "Своё дело"))

    response = await api.get(
        "/internal/communities", params=[("city", " мОСКВА "), ("category", "eyelashes"), ("category", "manicure")]
    )

    assert response.status_code == 200
    assert [c["id"] for c in response.json()] == [moscow["id"], manicure["id"], eyelashes["id"]]
    assert response.json()[0] == {
        "id": moscow["id"],
        "code": None,
        "title": "Мастера Москвы",
        "description": None,
        "type": "city",
        "city": "Москва",
        "category": None,
        "telegram_link": "https://t.me/academy_city",
    }


async def test_unknown_categories_and_cities_match_nothing(api, add_community):
    await add_community(city_chat("Москва"))
    manicure = await add_community(profession_chat("manicure"))

    response = await api.get(
        "/internal/communities", params=[("city", "Урюпинск"), ("category", "manicure"), ("category", "nails")]
    )

    assert response.status_code == 200
    assert [c["id"] for c in response.json()] == [manicure["id"]]


async def test_a_city_alone_gives_only_its_city_chats(api, add_community):
    spb = await add_community(city_chat("Санкт-Петербург"))
    await add_community(profession_chat("manicure"))

    response = await api.get("/internal/communities", params={"city": "санкт-петербург"})

    assert [c["id"] for c in response.json()] == [spb["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (city_chat("Москва", telegram_link="https://example.com/chat"), "body.telegram_link"),
        (city_chat("Москва", telegram_link="http://t.me/chat"), "body.telegram_link"),
        ({**city_chat("Москва"), "type": "hobby"}, "body.type"),
        ({**city_chat("Москва"), "city": None}, "body.city"),
        (city_chat("Москва", category="manicure"), "body.category"),
        ({**profession_chat("manicure"), "category": None}, "body.category"),
        (profession_chat("nails"), "body.category"),
        (profession_chat("manicure", city="Москва"), "body.city"),
        (city_chat("Москва", title=""), "body.title"),
        (city_chat("Москва", code="Not A Code"), "body.code"),
    ],
)
async def test_invalid_community_gets_422_naming_the_field(api, body, field):
    response = await api.post("/internal/communities", json=body)

    assert response.status_code == 422, response.text
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    assert (await api.get("/internal/communities")).json() == []


async def test_a_community_is_edited_and_deleted(api, add_community):
    chat = await add_community(city_chat("Казань"))

    edited = await api.patch(
        f"/internal/communities/{chat['id']}", json={"title": "Мастера Казани", "telegram_link": "https://t.me/kzn"}
    )
    invalid = await api.patch(f"/internal/communities/{chat['id']}", json={"type": "profession"})
    deleted = await api.delete(f"/internal/communities/{chat['id']}")
    again = await api.delete(f"/internal/communities/{chat['id']}")

    assert edited.status_code == 200
    assert edited.json()["title"] == "Мастера Казани"
    assert invalid.status_code == 422
    assert "body.category" in [d["field"] for d in invalid.json()["error"]["details"]]
    assert deleted.json() == {"id": chat["id"], "deleted": True}
    assert again.status_code == 404
    assert (await api.get("/internal/communities", params={"city": "Казань"})).json() == []


async def test_a_retried_delete_with_its_key_gets_the_first_answer(api, add_community):
    chat = await add_community(city_chat("Казань"))
    headers = {"idempotency-key": "op:delete-chat:1"}

    first = await api.delete(f"/internal/communities/{chat['id']}", headers=headers)
    retry = await api.delete(f"/internal/communities/{chat['id']}", headers=headers)

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
