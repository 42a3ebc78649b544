"""GET|PUT /internal/learners/{user_id}/preferences: time zone (IANA) and the reminders opt-out."""

import pytest
from academy_progress.models import LearnerPreferences
from sqlalchemy import func, select

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
async def _registered_learners(register_learners):
    """The learners these tests write for, registered (an unknown one gets 404 `learner_not_found`)."""
    await register_learners(42)


async def test_defaults_before_anything_is_set(api):
    response = await api.get("/internal/learners/42/preferences")

    assert response.status_code == 200
    assert response.json() == {"user_id": 42, "timezone": "Europe/Moscow", "reminders_opt_out": False}


async def test_put_sets_and_a_partial_put_keeps_the_rest(api):
    first = await api.put("/internal/learners/42/preferences", json={"timezone": "Asia/Vladivostok"})
    second = await api.put("/internal/learners/42/preferences", json={"reminders_opt_out": True})
    read = await api.get("/internal/learners/42/preferences")

    assert first.json() == {"user_id": 42, "timezone": "Asia/Vladivostok", "reminders_opt_out": False}
    assert second.json() == {"user_id": 42, "timezone": "Asia/Vladivostok", "reminders_opt_out": True}
    assert read.json() == second.json()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"timezone": "Moscow"}, "body.timezone"),
        ({"timezone": "Europe/Atlantis"}, "body.timezone"),
        ({"timezone": "../../etc/passwd"}, "body.timezone"),
        ({"reminders_opt_out": "sometimes"}, "body.reminders_opt_out"),
        ({"language": "ru"}, "body.language"),
    ],
)
async def test_invalid_preferences_get_422_and_write_nothing(api, resources, payload, field):
    response = await api.put("/internal/learners/42/preferences", json=payload)

    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    async with resources.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(LearnerPreferences)) == 0
