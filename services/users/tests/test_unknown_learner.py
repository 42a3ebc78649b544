"""Every route that names a learner answers an unknown one the same way: 404 `learner_not_found`
(`academy_runtime.errors.LearnerNotFoundError`), so a client tells "no such learner" from any other 404
(an avatar, a route) by one code. The routes are read from the routers, so a new one is covered or fails."""

from __future__ import annotations

import pytest
from academy_users.app import accounts_router, avatars_router, privacy_router
from fastapi.routing import APIRoute

pytestmark = pytest.mark.integration

UNKNOWN = 987_654

# What each route needs besides the learner's id to get past validation (so the 404 is about the learner).
REQUESTS: dict[tuple[str, str], dict[str, object]] = {
    ("GET", "/internal/users/{user_id}"): {},
    ("PATCH", "/internal/users/{user_id}"): {"json": {"city": "Казань"}},
    ("POST", "/internal/users/{user_id}/avatars"): {
        "content": b"\x89PNG\r\n\x1a\n",
        "headers": {"content-type": "image/png"},
    },
    ("GET", "/internal/users/{user_id}/avatars"): {},
    ("GET", "/internal/users/{user_id}/avatars/{avatar_id}/image"): {},
    ("GET", "/internal/users/{user_id}/avatar"): {},
    ("PUT", "/internal/users/{user_id}/avatars/current"): {"json": {"avatar_id": 1}},
    ("DELETE", "/internal/users/{user_id}/avatars/current"): {},
    ("GET", "/internal/users/{user_id}/personal-data"): {},
    ("POST", "/internal/users/{user_id}/erasure"): {"json": {"reason": "consent_withdrawn"}},
}


def _learner_routes() -> list[tuple[str, str]]:
    return [
        (method, route.path)
        for router in (accounts_router, avatars_router, privacy_router)
        for route in router.routes
        if isinstance(route, APIRoute) and "{user_id}" in route.path
        for method in sorted(route.methods)
    ]


def test_every_route_naming_a_learner_is_listed_here():
    assert sorted(_learner_routes()) == sorted(REQUESTS)


@pytest.mark.parametrize(("method", "path"), sorted(REQUESTS))
async def test_an_unknown_learner_is_learner_not_found_on_every_route(api, method, path):
    url = path.replace("{user_id}", str(UNKNOWN)).replace("{avatar_id}", "1")

    response = await api.request(method, url, **REQUESTS[(method, path)])  # type: ignore[arg-type]

    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "learner_not_found"


async def test_an_unknown_telegram_account_is_learner_not_found_too(api):
    response = await api.get("/internal/users/by-telegram/987654321")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "learner_not_found"
