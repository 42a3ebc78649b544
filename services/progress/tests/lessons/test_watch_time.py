"""POST /internal/learners/{user_id}/lessons/{lesson_id}/watch-time: the most seconds watched, kept."""

import pytest
from academy_progress.models import UserProgress
from sqlalchemy import func, select

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
async def _registered_learners(register_learners):
    """The learners these tests write for, registered (an unknown one gets 404 `learner_not_found`)."""
    await register_learners(42, 43)


@pytest.fixture
async def course_5(project_course, make_course_event, enrol):
    await project_course(make_course_event(5, lesson_ids=(51, 52), price="990.00"))
    await enrol(42, 5)


async def _watch(api, lesson_id: int, seconds: int, user_id: int = 42):
    return await api.post(f"/internal/learners/{user_id}/lessons/{lesson_id}/watch-time", json={"seconds": seconds})


async def test_watch_time_is_recorded_without_completing_the_lesson(api, course_5, outbox, resources):
    response = await _watch(api, 52, 240)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "lesson_id": 52,
        "course_id": 5,
        "completed": False,
        "completed_at": None,
        "watch_time": 240,
    }
    assert await outbox(resources) == []
    view = (await api.get("/internal/learners/42/courses/5")).json()
    assert [(lesson["lesson_id"], lesson["watch_time"], lesson["completed"]) for lesson in view["lessons"]] == [
        (51, 0, False),
        (52, 240, False),
    ]
    assert view["completed_lessons"] == 0  # a started lesson is not a completed one


async def test_a_late_smaller_report_does_not_lower_it(api, course_5):
    await _watch(api, 52, 400)
    late = await _watch(api, 52, 100)

    assert late.json()["watch_time"] == 400


async def test_completion_keeps_the_watch_time(api, course_5):
    await _watch(api, 51, 500)
    completed = await api.post("/internal/learners/42/lessons/51/complete", json={})

    assert completed.json()["watch_time"] == 500
    assert completed.json()["newly_completed"] is True


async def test_a_lesson_not_open_to_the_learner_is_403_and_unknown_lesson_404(api, course_5, resources):
    locked = await _watch(api, 52, 100, user_id=43)
    unknown = await _watch(api, 999, 100)

    assert locked.status_code == 403
    assert unknown.status_code == 404
    async with resources.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(UserProgress)) == 0
