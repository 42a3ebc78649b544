"""No write keyed by a learner id lands on a learner nobody registered (QA: `POST
/internal/learners/2147483000/enrolments` was a 200, and the progress then belonged to whoever registered
later with that id).

Progress knows learners from the users service's `user_registered` (v3, or v1/v2 queued from before its
issue-10 release) and `user_erased` (v2, or v1), on the real broker here (its `learner-registry`
consumer); an unknown or erased learner's write is a 404 `learner_not_found` that writes nothing. Reads
do not check. What an erasure deletes: tests/learners/test_erasure.py."""

from datetime import UTC, datetime

import pytest
from academy_contracts import UserErasedV1, UserRegisteredV1
from academy_contracts.users import UserErasedV2
from academy_progress.models import (
    KnownLearner,
    LearnerPreferences,
    UserCourse,
    UserProgress,
    UserTranscript,
    messaging,
)
from sqlalchemy import func, select

pytestmark = pytest.mark.integration

NOBODY = 2_147_483_000
CONSUMER = "learner-registry"
COURSE, PREVIEW, SECOND = 5, 51, 52

WRITES = [
    ("POST", "/internal/learners/{id}/enrolments", {"course_id": COURSE}),
    ("POST", f"/internal/learners/{{id}}/lessons/{PREVIEW}/complete", {"watch_time": 30}),
    ("POST", f"/internal/learners/{{id}}/lessons/{PREVIEW}/watch-time", {"seconds": 30}),
    ("PUT", "/internal/learners/{id}/preferences", {"reminders_opt_out": True}),
    ("POST", "/internal/learners/{id}/transcript", {"full_name": "Анна Смирнова"}),
]
WRITE_IDS = ["enrolment", "complete", "watch-time", "preferences", "transcript"]


@pytest.fixture(autouse=True)
async def free_course(project_course, make_course_event):
    """Free course 5: lesson 51 a free preview, so each write below would succeed for a known learner."""
    await project_course(make_course_event(COURSE, lesson_ids=(PREVIEW, SECOND)))


async def _rows(resources, user_id: int) -> dict[str, int]:
    """Every row progress holds for the learner, by table (the idempotency store too)."""
    counts = {}
    async with resources.sessionmaker() as session:
        for model in (UserCourse, UserProgress, UserTranscript, LearnerPreferences, KnownLearner):
            counts[model.__tablename__] = await session.scalar(
                select(func.count()).select_from(model).where(model.user_id == user_id)
            )
        counts["outbox"] = await session.scalar(select(func.count()).select_from(messaging.outbox))
    return counts


def _refused(response, user_id: int, message: str | None = None) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["error"] == {
        "code": "learner_not_found",
        "message": message or f"learner {user_id} is not known",
        "details": {"user_id": user_id},
    }


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=WRITE_IDS)
async def test_every_write_for_an_unknown_learner_is_a_404_and_writes_nothing(api, resources, method, path, body):
    response = await api.request(method, path.format(id=NOBODY), json=body, headers={"Idempotency-Key": "k-1"})

    _refused(response, NOBODY)
    assert await _rows(resources, NOBODY) == dict.fromkeys(
        ("user_courses", "user_progress", "user_transcripts", "learner_preferences", "learners", "outbox"), 0
    )


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=WRITE_IDS)
async def test_every_write_works_once_the_learner_registered(api, register_learners, method, path, body):
    await register_learners(42)
    if path.endswith("/transcript"):  # a transcript needs a completed course: complete both lessons
        assert (await api.post("/internal/learners/42/enrolments", json={"course_id": COURSE})).status_code == 200
        for lesson_id in (PREVIEW, SECOND):
            assert (await api.post(f"/internal/learners/42/lessons/{lesson_id}/complete")).status_code == 200

    response = await api.request(method, path.format(id=42), json=body)

    assert response.status_code == 200, response.text


async def test_the_qa_case_refused_then_the_registration_arrives_and_the_learner_starts_empty(
    api, resources, bus, wait_for, make_registration
):
    refused = await api.post(f"/internal/learners/{NOBODY}/enrolments", json={"course_id": COURSE})
    _refused(refused, NOBODY)

    # The learner who then registers with that id (users.user_registered.v2, through the broker).
    event = await bus.publish(make_registration(NOBODY))
    await wait_for(lambda: bus.handled(event, CONSUMER))

    assert (await api.get(f"/internal/learners/{NOBODY}/courses")).json() == []
    enrolled = await api.post(f"/internal/learners/{NOBODY}/enrolments", json={"course_id": COURSE})
    assert enrolled.status_code == 200, enrolled.text
    assert [c["course_id"] for c in (await api.get(f"/internal/learners/{NOBODY}/courses")).json()] == [COURSE]


async def test_a_v1_registration_is_enough(api, bus, wait_for):
    """users.user_registered.v1 carries no time zone nor revision: still a registration."""
    event = await bus.publish(
        UserRegisteredV1(
            user_id=61,
            telegram_id=700_061,
            locale="ru",
            consent_personal_data=True,
            consent_version="1",
            registered_at=datetime(2026, 3, 1, tzinfo=UTC),
        )
    )
    await wait_for(lambda: bus.handled(event, CONSUMER))

    response = await api.put("/internal/learners/61/preferences", json={"reminders_opt_out": True})

    assert response.status_code == 200, response.text


async def test_an_erased_learner_is_refused_whichever_event_arrives_first(
    api, resources, bus, wait_for, make_registration
):
    erased_at = datetime(2026, 4, 1, tzinfo=UTC)
    registered = await bus.publish(make_registration(62))
    await wait_for(lambda: bus.handled(registered, CONSUMER))
    assert (await api.post("/internal/learners/62/enrolments", json={"course_id": COURSE})).status_code == 200
    # 63's erasure overtakes its registration (a retry reordered them): the registration does not undo it.
    # 63's is a v1 still queued from before the users service's release: an erasure all the same.
    events = [
        await bus.publish(UserErasedV2(user_id=62, erased_at=erased_at)),
        await bus.publish(UserErasedV1(user_id=63, telegram_id=700_063, erased_at=erased_at)),
    ]
    for event in events:
        await wait_for(lambda event=event: bus.handled(event, CONSUMER))
    late = await bus.publish(make_registration(63))
    await wait_for(lambda: bus.handled(late, CONSUMER))

    for user_id in (62, 63):
        response = await api.post(f"/internal/learners/{user_id}/lessons/{PREVIEW}/complete")
        _refused(response, user_id, f"learner {user_id} was erased")
    # What 62 did before the erasure is gone with them; reads still answer, with nothing.
    assert (await api.get("/internal/learners/62/courses")).json() == []
    assert (await _rows(resources, 62))["user_courses"] == 0
    assert (await _rows(resources, 63))["user_progress"] == 0


async def test_reads_of_an_unknown_learner_do_not_check(api):
    courses = await api.get(f"/internal/learners/{NOBODY}/courses")
    preferences = await api.get(f"/internal/learners/{NOBODY}/preferences")
    view = await api.get(f"/internal/learners/{NOBODY}/courses/{COURSE}")

    assert (courses.status_code, courses.json()) == (200, [])
    assert preferences.json() == {"user_id": NOBODY, "timezone": "Europe/Moscow", "reminders_opt_out": False}
    assert view.status_code == 200
