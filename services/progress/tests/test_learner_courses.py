"""GET /internal/learners/{user_id}/courses: the seed's example query 1 on the projection."""

from datetime import UTC, datetime

import pytest
from academy_progress.models import UserCourse, UserProgress
from academy_runtime.db import transaction

pytestmark = pytest.mark.integration

ANNA, BORIS = 1, 2
DONE = datetime(2026, 3, 5, 18, 0, tzinfo=UTC)


async def _enrol(resources, user_id: int, course_id: int, day: int) -> None:
    async with transaction(resources.sessionmaker) as session:
        session.add(
            UserCourse(
                user_id=user_id,
                course_id=course_id,
                source="purchase",
                purchased_at=datetime(2026, 3, day, 10, 0, tzinfo=UTC),
            )
        )


async def _progress(resources, user_id: int, course_id: int, lesson_id: int, *, completed: bool = True) -> None:
    async with transaction(resources.sessionmaker) as session:
        session.add(
            UserProgress(
                user_id=user_id,
                course_id=course_id,
                lesson_id=lesson_id,
                completed=completed,
                completed_at=DONE if completed else None,
                watch_time=300,
            )
        )


@pytest.fixture
async def two_learners(resources, project_course, make_course_event):
    """Anna and Boris share course 1 (3 lessons); Anna also has course 2 (2 lessons, untouched)
    and course 3 (no lessons known). Boris finished course 1; Anna did one lesson of it, started
    another, and finished a lesson of course 4 she is not enrolled on."""
    await project_course(make_course_event(1, lesson_ids=(11, 12, 13)))
    await project_course(make_course_event(2, lesson_ids=(21, 22)))
    await project_course(make_course_event(3))
    await project_course(make_course_event(4, lesson_ids=(41,)))
    await _enrol(resources, ANNA, 1, day=1)
    await _enrol(resources, ANNA, 2, day=2)
    await _enrol(resources, ANNA, 3, day=3)
    await _enrol(resources, BORIS, 1, day=1)
    await _progress(resources, ANNA, 1, 11)
    await _progress(resources, ANNA, 1, 12, completed=False)
    await _progress(resources, ANNA, 4, 41)
    for lesson_id in (11, 12, 13):
        await _progress(resources, BORIS, 1, lesson_id)


def _summary(body: list[dict]) -> list[tuple]:
    return [(c["course_id"], c["total_lessons"], c["completed_lessons"], c["progress_percent"]) for c in body]


async def test_each_course_counts_its_own_lessons_and_only_this_learners_completions(api, two_learners):
    anna = await api.get(f"/internal/learners/{ANNA}/courses")
    boris = await api.get(f"/internal/learners/{BORIS}/courses")

    assert anna.status_code == boris.status_code == 200, anna.text
    # Newest enrolment first. Course 1: 1 of 3 (Boris's three completions and Anna's unfinished
    # lesson do not count); course 2: nothing done is 0 %, not missing; course 3: no lessons, 0 %.
    assert _summary(anna.json()) == [(3, 0, 0, 0), (2, 2, 0, 0), (1, 3, 1, 33)]
    assert _summary(boris.json()) == [(1, 3, 3, 100)]


async def test_course_fields_come_from_the_enrolment_and_the_projection(api, two_learners):
    body = (await api.get(f"/internal/learners/{ANNA}/courses")).json()

    course = body[-1]
    assert course["title"] == "Курс 1"
    assert course["category"] == "manicure"
    assert course["source"] == "purchase"
    assert course["enrolled_at"] == "2026-03-01T10:00:00Z"
    assert course["is_completed"] is False
    assert course["completed_at"] is None


async def test_a_learner_without_courses_gets_an_empty_list(api, two_learners):
    response = await api.get("/internal/learners/3/courses")

    assert response.status_code == 200
    assert response.json() == []


async def test_invalid_learner_id_is_422(api):
    response = await api.get("/internal/learners/0/courses")

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "path.user_id"
