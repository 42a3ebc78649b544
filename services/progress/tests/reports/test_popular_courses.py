"""GET /internal/courses/popular: the seed's "top 5 courses", with data a wrong join would miscount."""

import pytest
from academy_contracts import CourseArchivedV1

pytestmark = pytest.mark.integration


@pytest.fixture
async def catalog(project_course, make_course_event, enrol, record_progress, later):
    """Seven visible courses with 3, 2, 2, 1, 0, 0, 0 students; an archived one with 4; a hidden one with 5;
    enrolments on a course the projection does not know. Course 1's students completed many lessons
    (progress rows a join through lessons or progress would multiply)."""
    for course_id in range(1, 8):
        await project_course(make_course_event(course_id, lesson_ids=(course_id * 10 + 1, course_id * 10 + 2)))
    await project_course(make_course_event(8, lesson_ids=(81,)))
    await project_course(CourseArchivedV1(course_id=8, archived_at=later(5)))
    await project_course(make_course_event(9, lesson_ids=(91,), is_active=False))
    students = {
        1: (1, 2, 3),
        2: (1, 4),
        3: (5, 6),
        4: (7,),
        8: (1, 2, 3, 4),
        9: (1, 2, 3, 4, 5),
        99: (1, 2, 3, 4, 5, 6),
    }
    for course_id, learners in students.items():
        for user_id in learners:
            await enrol(user_id, course_id)
    for user_id in (1, 2, 3):
        for lesson_id in (11, 12):
            await record_progress(user_id, 1, lesson_id, completed_at=later(60))


async def test_top_five_counts_students_once_and_skips_invisible_courses(operator_api, catalog):
    response = await operator_api.get("/internal/courses/popular")

    assert response.status_code == 200, response.text
    # Ties by course id; courses 5..7 have no students, and 5 still makes the top five.
    assert [(c["course_id"], c["students_count"]) for c in response.json()] == [(1, 3), (2, 2), (3, 2), (4, 1), (5, 0)]
    assert response.json()[0] == {"course_id": 1, "title": "Курс 1", "category": "manicure", "students_count": 3}


async def test_limit_is_respected_and_courses_without_students_are_listed(operator_api, catalog):
    body = (await operator_api.get("/internal/courses/popular", params={"limit": 50})).json()

    assert [c["course_id"] for c in body] == [1, 2, 3, 4, 5, 6, 7]
    assert [c["students_count"] for c in body[-3:]] == [0, 0, 0]


@pytest.mark.parametrize("limit", [0, 101, "five"])
async def test_invalid_limit_is_422(operator_api, limit):
    response = await operator_api.get("/internal/courses/popular", params={"limit": limit})

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "query.limit"
