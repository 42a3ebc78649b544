"""Injection payloads (issue 9) in the gamification API's inputs: the leaderboard's city and category filters,
its other query parameters, and the learner ids in paths; and in the names and cities learners bring (through
users' events), which the boards show. Never a 5xx; a city board matches its city literally (a city `%` is
the learners of the city `%`, not everyone); names come back as the display names the users service
published (`users.user_registered.v3`), unaltered; nothing else changes."""

from datetime import UTC, datetime

import pytest
from academy_contracts.users import DISPLAY_NAME_MAX_LENGTH
from academy_runtime.injection_tests import (
    PATH_PAYLOADS,
    PAYLOADS,
    assert_not_server_error,
    assert_tables_intact,
    quoted,
    refused_as_input,
    table_counts,
)

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 2, 10, tzinfo=UTC)
# The payloads a learner's display name and city can both hold (users keeps cities to 100 characters,
# display names to 64).
LEARNER_TEXTS = {name: text for name, text in PAYLOADS.items() if len(text) <= DISPLAY_NAME_MAX_LENGTH}
FIRST_ID = 100


@pytest.fixture
async def learners(gamification):
    """One learner per payload, named and living in it, with the welcome points; and one in Москва."""
    ids = {name: FIRST_ID + n for n, name in enumerate(LEARNER_TEXTS)}
    for name, text in LEARNER_TEXTS.items():
        await gamification.publish(gamification.registered(ids[name], display_name=text, city=text, at=T0))
    await gamification.publish(gamification.registered(99, display_name="Анна", city="Москва", at=T0))
    await gamification.wait_handled("learner-profiles", len(ids) + 1)
    await gamification.wait_handled("welcome-points", len(ids) + 1)
    return ids


async def test_a_city_board_matches_its_city_literally_and_shows_display_names_unaltered(
    api, resources, service, learners
):
    overall = (await api.get("/internal/leaderboards", params={"limit": 100})).json()
    assert len(overall["top"]) == len(learners) + 1
    names = {row["user_id"]: row["display_name"] for row in overall["top"]}
    wrong = [f"{name}: {names[uid]!r}" for name, uid in learners.items() if names[uid] != LEARNER_TEXTS[name]]
    assert not wrong, "names altered:\n" + "\n".join(wrong)
    before = await table_counts(resources, service)
    for name, text in LEARNER_TEXTS.items():
        for _ in range(2):  # built from PostgreSQL, then read from Redis
            response = await api.get(
                "/internal/leaderboards", params={"scope": "city", "city": text, "user_id": learners[name]}
            )
            assert_not_server_error(response, f"city={name}")
            body = response.json()
            assert [row["user_id"] for row in body["top"]] == [learners[name]], f"city={name!r}: {body['top']}"
            assert body["top"][0]["display_name"] == text
            assert body["me"]["user_id"] == learners[name]
    await assert_tables_intact(resources, service, before)


async def test_payloads_in_the_leaderboard_query_are_refused_or_match_nothing(api, resources, service, learners):
    before = await table_counts(resources, service)
    for name, text in PAYLOADS.items():
        category = await api.get("/internal/leaderboards", params={"scope": "category", "category": text})
        assert category.status_code == 422, f"category={name}: {category.status_code} {category.text[:200]}"
        for param in ("scope", "user_id", "limit"):
            refused_as_input(await api.get("/internal/leaderboards", params={param: text}), f"{param}={name}")
        if name not in LEARNER_TEXTS:
            city = await api.get("/internal/leaderboards", params={"scope": "city", "city": text})
            assert_not_server_error(city, f"city={name}")
            assert city.status_code == 422 or city.json()["top"] == [], f"city={name}: {city.text[:200]}"
    # Wildcards that are nobody's city match nobody.
    for text in ("%%", "_%", "M%", "*:*", "Моск_а", "Моск%", ".*"):
        city = await api.get("/internal/leaderboards", params={"scope": "city", "city": text})
        assert city.status_code == 200
        assert city.json()["top"] == [], f"city={text!r}: {city.json()['top']}"
    await assert_tables_intact(resources, service, before)


async def test_path_ids_refuse_payloads(api, resources, service, learners):
    before = await table_counts(resources, service)
    for name, text in PATH_PAYLOADS.items():
        segment = quoted(text)
        for path in (f"/internal/learners/{segment}/points", f"/internal/learners/{segment}/achievements"):
            refused_as_input(await api.get(path), f"GET {path} ({name})")
    refused_as_input(await api.get("/internal/learners/../../etc/passwd"), "GET ../../etc/passwd")
    assert (await api.get(f"/internal/learners/{learners['sql_or']}/points")).status_code == 200
    await assert_tables_intact(resources, service, before)
