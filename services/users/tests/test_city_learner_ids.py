"""Issue 12: the ids of a city's learners, for a broadcast's segment — keyset-paged, ids only, the gateway only."""

from __future__ import annotations

import pytest
from academy_runtime.testing import api_client, service_token

from .test_registration import register_learner

pytestmark = pytest.mark.integration


async def test_the_learners_of_a_city_page_by_page(api, service, resources, platform):
    city = "Улан-Удэ-Тест"  # a city only this test uses
    first = await register_learner(api, 7_120_001, city=city)
    second = await register_learner(api, 7_120_002, city=f" {city.upper()} ")
    third = await register_learner(api, 7_120_003, city=city.lower())
    await register_learner(api, 7_120_004, city="Москва")
    gateway = service_token(platform, caller="gateway-bot", audience="users")
    async with api_client(service, resources, gateway) as bot:
        page = await bot.get("/internal/users/ids", params={"city": city, "limit": 2})
        assert page.status_code == 200, page.text
        assert page.json() == {"user_ids": [first, second], "next_after_user_id": second}
        rest = await bot.get("/internal/users/ids", params={"city": city, "limit": 2, "after_user_id": second})
        assert rest.json() == {"user_ids": [third], "next_after_user_id": None}
        assert (await bot.get("/internal/users/ids", params={"city": "Нигдеград"})).json()["user_ids"] == []
        refused = await bot.get("/internal/users/ids", params={"city": "x\x00y"})
        assert refused.status_code == 422
        assert (await bot.get("/internal/users/ids", params={"city": city, "limit": 0})).status_code == 422
        assert (await bot.get("/internal/users/ids", params={"city": city, "after_user_id": 2**31})).status_code == 422


@pytest.mark.parametrize("caller", ["billing", "progress"])
async def test_only_the_gateway_reads_a_city(service, resources, platform, caller):
    async with api_client(service, resources, service_token(platform, caller=caller, audience="users")) as other:
        response = await other.get("/internal/users/ids", params={"city": "Москва"})
    assert response.status_code == 403
