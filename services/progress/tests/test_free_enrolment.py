"""POST /internal/learners/{user_id}/enrolments: free courses only, idempotent."""

import pytest
from academy_contracts import CourseArchivedV1
from academy_progress.models import UserCourse, messaging
from sqlalchemy import func, select

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
async def _registered_learners(register_learners):
    """The learners these tests write for, registered (an unknown one gets 404 `learner_not_found`)."""
    await register_learners(42)


async def _counts(resources) -> tuple[int, int]:
    async with resources.sessionmaker() as session:
        enrolments = await session.scalar(select(func.count()).select_from(UserCourse))
        events = await session.scalar(select(func.count()).select_from(messaging.outbox))
    return enrolments or 0, events or 0


async def test_enrolling_on_a_free_course_grants_access_and_announces_it(
    api, resources, project_course, make_course_event
):
    await project_course(make_course_event(5, lesson_ids=(51, 52)))

    response = await api.post("/internal/learners/42/enrolments", json={"course_id": 5})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] is True
    assert body["enrolment"]["source"] == "free"
    assert body["enrolment"]["user_id"] == 42
    async with resources.sessionmaker() as session:
        [row] = (await session.execute(select(messaging.outbox))).all()
    assert row.event_type == "progress.course_enrolled.v1"
    assert row.payload["data"]["source"] == "free"
    assert row.payload["data"]["enrollment_id"] == body["enrolment"]["id"]
    assert row.payload["data"]["purchase_id"] is None
    courses = (await api.get("/internal/learners/42/courses")).json()
    assert [(c["course_id"], c["total_lessons"], c["progress_percent"]) for c in courses] == [(5, 2, 0)]


async def test_enrolling_twice_returns_the_same_enrolment_without_a_second_event(
    api, resources, project_course, make_course_event
):
    await project_course(make_course_event(5, lesson_ids=(51,)))

    first = await api.post("/internal/learners/42/enrolments", json={"course_id": 5})
    second = await api.post("/internal/learners/42/enrolments", json={"course_id": 5})

    assert second.status_code == 200
    assert second.json()["created"] is False
    assert second.json()["enrolment"]["id"] == first.json()["enrolment"]["id"]
    assert await _counts(resources) == (1, 1)


async def test_idempotency_key_replays_the_first_answer(api, resources, project_course, make_course_event):
    await project_course(make_course_event(5, lesson_ids=(51,)))
    headers = {"idempotency-key": "tg:42:900:enrol"}

    first = await api.post("/internal/learners/42/enrolments", json={"course_id": 5}, headers=headers)
    replay = await api.post("/internal/learners/42/enrolments", json={"course_id": 5}, headers=headers)
    reused = await api.post("/internal/learners/42/enrolments", json={"course_id": 6}, headers=headers)

    assert replay.json() == first.json()
    assert replay.json()["created"] is True
    assert reused.status_code == 422
    assert await _counts(resources) == (1, 1)


async def test_a_paid_course_is_refused_with_402(api, resources, project_course, make_course_event):
    await project_course(make_course_event(6, lesson_ids=(61,), price="4900.00"))

    response = await api.post("/internal/learners/42/enrolments", json={"course_id": 6})

    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "payment_required"
    assert "4900.00 RUB" in error["message"]
    assert await _counts(resources) == (0, 0)


async def test_an_unknown_course_is_404(api, resources):
    response = await api.post("/internal/learners/42/enrolments", json={"course_id": 404})

    assert response.status_code == 404
    assert "course 404" in response.json()["error"]["message"]
    assert await _counts(resources) == (0, 0)


async def test_an_archived_or_hidden_course_is_409(api, resources, project_course, make_course_event, later):
    await project_course(make_course_event(7, lesson_ids=(71,)))
    await project_course(CourseArchivedV1(course_id=7, archived_at=later(10)))
    await project_course(make_course_event(8, lesson_ids=(81,), is_active=False))

    archived = await api.post("/internal/learners/42/enrolments", json={"course_id": 7})
    hidden = await api.post("/internal/learners/42/enrolments", json={"course_id": 8})

    assert archived.status_code == hidden.status_code == 409
    assert "archived" in archived.json()["error"]["message"]
    assert await _counts(resources) == (0, 0)


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/internal/learners/42/enrolments", {}, "body.course_id"),
        ("/internal/learners/42/enrolments", {"course_id": 0}, "body.course_id"),
        ("/internal/learners/42/enrolments", {"course_id": "five"}, "body.course_id"),
        ("/internal/learners/42/enrolments", {"course_id": 5, "source": "operator"}, "body.source"),
        ("/internal/learners/-1/enrolments", {"course_id": 5}, "path.user_id"),
    ],
)
async def test_invalid_enrolment_gets_422_naming_the_field(api, path, payload, field):
    response = await api.post(path, json=payload)

    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["error"]["details"]]


async def test_enrolment_needs_a_service_token(api, resources):
    response = await api.post("/internal/learners/42/enrolments", json={"course_id": 5}, headers={"authorization": ""})

    assert response.status_code == 401
