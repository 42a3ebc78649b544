"""POST /internal/learners/{user_id}/lessons/{lesson_id}/complete: idempotent completion, course completion once."""

import asyncio

import pytest
from academy_contracts import CourseUpdatedV1
from academy_progress.models import UserCourse, UserProgress
from sqlalchemy import func, select

pytestmark = pytest.mark.integration

ANNA = 42
LESSON_DONE = "progress.lesson_completed.v1"
COURSE_DONE = "progress.course_completed.v1"
COURSE_DONE_V2 = "progress.course_completed.v2"


@pytest.fixture(autouse=True)
async def _registered_learners(register_learners):
    """The learners these tests write for, registered (an unknown one gets 404 `learner_not_found`)."""
    await register_learners(ANNA)


@pytest.fixture
async def course_5(project_course, make_course_event, api):
    """Free course 5 (lessons 51 free preview, 52, 53) with Anna enrolled."""
    await project_course(make_course_event(5, lesson_ids=(51, 52, 53)))
    response = await api.post(f"/internal/learners/{ANNA}/enrolments", json={"course_id": 5})
    assert response.status_code == 200


async def _complete(api, lesson_id: int, user_id: int = ANNA, **kwargs):
    return await api.post(f"/internal/learners/{user_id}/lessons/{lesson_id}/complete", **kwargs)


async def _enrolment(resources, user_id: int, course_id: int) -> UserCourse:
    async with resources.sessionmaker() as session:
        return (
            await session.execute(
                select(UserCourse).where(UserCourse.user_id == user_id, UserCourse.course_id == course_id)
            )
        ).scalar_one()


async def test_first_completion_records_the_lesson_and_announces_it(api, resources, course_5, outbox):
    response = await _complete(api, 52, json={"watch_time": 540})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["newly_completed"] is True
    assert (body["completed_lessons"], body["total_lessons"], body["progress_percent"]) == (1, 3, 33)
    assert body["course_completed"] is False
    assert body["next_lesson_id"] == 51
    [event] = await outbox(resources, LESSON_DONE)
    assert event["partitionkey"] == str(ANNA)
    data = event["data"]
    assert data["user_id"] == ANNA
    assert data["course_id"] == 5
    assert data["lesson_id"] == 52
    assert data["category"] == "manicure"
    assert data["watch_time"] == 540
    assert (data["lessons_completed_in_course"], data["lessons_total"]) == (1, 3)
    assert await outbox(resources, COURSE_DONE) == []


async def test_completing_again_changes_nothing_and_publishes_nothing(api, resources, course_5, outbox):
    first = await _complete(api, 51)
    again = await _complete(api, 51, json={"watch_time": 300})

    assert again.status_code == 200
    assert again.json()["newly_completed"] is False
    assert again.json()["completed_at"] == first.json()["completed_at"]
    assert again.json()["watch_time"] == 300  # watch time still recorded
    assert len(await outbox(resources, LESSON_DONE)) == 1
    async with resources.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(UserProgress)) == 1


async def test_the_last_lesson_completes_the_course_once(api, resources, course_5, outbox):
    answers = [(await _complete(api, lesson_id)).json() for lesson_id in (51, 52, 53)]
    repeat = (await _complete(api, 53)).json()

    assert [a["course_newly_completed"] for a in answers] == [False, False, True]
    assert answers[-1]["course_completed"] is True
    assert answers[-1]["progress_percent"] == 100
    assert answers[-1]["next_lesson_id"] is None
    assert repeat["course_completed"] is True
    assert repeat["course_newly_completed"] is False
    [event] = await outbox(resources, COURSE_DONE)
    assert event["data"]["course_id"] == 5
    assert event["data"]["duration_hours"] == 6
    assert [e["data"]["lessons_completed_in_course"] for e in await outbox(resources, LESSON_DONE)] == [1, 2, 3]
    enrolment = await _enrolment(resources, ANNA, 5)
    assert enrolment.is_completed is True
    assert enrolment.completed_at is not None
    [mine] = (await api.get(f"/internal/learners/{ANNA}/courses")).json()
    assert (mine["progress_percent"], mine["is_completed"]) == (100, True)


async def test_the_course_completion_is_announced_in_both_versions_v2_first_and_naming_the_course(
    api, resources, course_5, outbox
):
    for lesson_id in (51, 52, 53):
        await _complete(api, lesson_id)

    announced = [e for e in await outbox(resources) if e["type"].startswith("progress.course_completed.")]
    assert [e["type"] for e in announced] == [COURSE_DONE_V2, COURSE_DONE]
    v2, v1 = announced
    assert v2["data"]["course_title"] == "Курс 5"  # what the bot congratulates with, without asking the catalog
    assert v2["id"] != v1["id"]
    assert {k: v for k, v in v2["data"].items() if k != "course_title"} == v1["data"]


async def test_concurrent_completions_of_the_last_two_lessons_complete_the_course_exactly_once(
    *, api, resources, project_course, make_course_event, enrol, outbox, register_learners
):
    await project_course(make_course_event(6, lesson_ids=(61, 62)))
    learners = range(100, 108)
    await register_learners(*learners)
    for user_id in learners:
        await enrol(user_id, 6)

    answers = await asyncio.gather(
        *(_complete(api, lesson_id, user_id=user_id) for user_id in learners for lesson_id in (61, 62))
    )

    assert {a.status_code for a in answers} == {200}
    completed_events = await outbox(resources, COURSE_DONE)
    assert sorted(e["data"]["user_id"] for e in completed_events) == list(learners)
    for user_id in learners:
        flags = [
            a.json()["course_newly_completed"]
            for a in answers
            if a.url.path.startswith(f"/internal/learners/{user_id}/")
        ]
        assert sorted(flags) == [False, True]
        assert (await _enrolment(resources, user_id, 6)).is_completed is True


async def test_a_lesson_of_a_course_the_learner_is_not_enrolled_on_is_403(
    api, resources, project_course, make_course_event, outbox
):
    await project_course(make_course_event(7, lesson_ids=(71, 72), price="4900.00"))

    response = await _complete(api, 72)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    async with resources.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(UserProgress)) == 0
    assert await outbox(resources) == []


async def test_a_free_preview_opens_without_enrolment_but_completes_no_course(
    api, resources, project_course, make_course_event, outbox
):
    await project_course(make_course_event(8, lesson_ids=(81,), price="4900.00"))  # its only lesson is free

    response = await _complete(api, 81)

    assert response.status_code == 200, response.text
    assert response.json()["newly_completed"] is True
    assert response.json()["course_completed"] is False
    assert len(await outbox(resources, LESSON_DONE)) == 1
    assert await outbox(resources, COURSE_DONE) == []


async def test_an_unknown_lesson_is_404(api, resources, outbox):
    response = await _complete(api, 999)

    assert response.status_code == 404
    assert "lesson 999" in response.json()["error"]["message"]
    assert await outbox(resources) == []


async def test_a_lesson_removed_from_the_course_stops_counting(
    *, api, resources, course_5, project_course, make_course_event, later, outbox
):
    await _complete(api, 51)
    await _complete(api, 52)
    await project_course(make_course_event(5, lesson_ids=(52, 53), model=CourseUpdatedV1, at=later(10)))

    view = (await api.get(f"/internal/learners/{ANNA}/courses/5")).json()
    [mine] = (await api.get(f"/internal/learners/{ANNA}/courses")).json()
    last = (await _complete(api, 53)).json()

    assert (view["completed_lessons"], view["total_lessons"]) == (1, 2)
    assert (mine["completed_lessons"], mine["total_lessons"]) == (1, 2)
    assert (last["completed_lessons"], last["total_lessons"], last["course_newly_completed"]) == (2, 2, True)
    assert len(await outbox(resources, COURSE_DONE)) == 1


async def test_a_lesson_added_after_completion_lowers_the_percentage_but_the_completion_stays(
    *, api, resources, course_5, project_course, make_course_event, later, outbox
):
    for lesson_id in (51, 52, 53):
        await _complete(api, lesson_id)
    completed_at = (await _enrolment(resources, ANNA, 5)).completed_at
    await project_course(make_course_event(5, lesson_ids=(51, 52, 53, 54), model=CourseUpdatedV1, at=later(10)))

    view = (await api.get(f"/internal/learners/{ANNA}/courses/5")).json()
    new_lesson = (await _complete(api, 54)).json()

    assert (view["progress_percent"], view["is_completed"], view["next_lesson_id"]) == (75, True, 54)
    assert new_lesson["newly_completed"] is True
    assert new_lesson["course_newly_completed"] is False
    assert len(await outbox(resources, COURSE_DONE)) == 1
    assert (await _enrolment(resources, ANNA, 5)).completed_at == completed_at


async def test_an_idempotency_key_replays_the_first_answer(api, resources, course_5, outbox):
    headers = {"idempotency-key": "tg:42:1001:complete"}

    first = await _complete(api, 52, headers=headers)
    replay = await _complete(api, 52, headers=headers)

    assert replay.json() == first.json()
    assert replay.json()["newly_completed"] is True
    assert len(await outbox(resources, LESSON_DONE)) == 1


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/internal/learners/42/lessons/51/complete", {"watch_time": -1}, "body.watch_time"),
        ("/internal/learners/42/lessons/51/complete", {"watch_time": "long"}, "body.watch_time"),
        ("/internal/learners/42/lessons/51/complete", {"completed": True}, "body.completed"),
        ("/internal/learners/42/lessons/0/complete", {}, "path.lesson_id"),
        ("/internal/learners/42/lessons/51/watch-time", {}, "body.seconds"),
        ("/internal/learners/42/lessons/51/watch-time", {"seconds": -5}, "body.seconds"),
    ],
)
async def test_invalid_input_gets_422_naming_the_field(api, course_5, path, payload, field):
    response = await api.post(path, json=payload)

    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["error"]["details"]]
