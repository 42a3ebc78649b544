"""GET /internal/learners/{user_id}/courses/{course_id}: the course as one learner sees it."""

import pytest
from academy_contracts import CourseArchivedV1
from sqlalchemy import event as sqlalchemy_event

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
async def _registered_learners(register_learners):
    """The learners these tests write for, registered (an unknown one gets 404 `learner_not_found`)."""
    await register_learners(42, 43)


@pytest.fixture
async def paid_course(project_course, make_course_event):
    """Course 5 costs money; lesson 51 is its free preview, 52 and 53 are not."""
    await project_course(make_course_event(5, lesson_ids=(51, 52, 53), price="4900.00", title="Аппаратный маникюр"))


def _flags(view: dict) -> list[tuple]:
    return [(lesson["lesson_id"], lesson["accessible"], lesson["completed"]) for lesson in view["lessons"]]


async def test_a_learner_not_enrolled_sees_the_free_preview_open(api, paid_course):
    response = await api.get("/internal/learners/42/courses/5")

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["title"] == "Аппаратный маникюр"
    assert view["enrolled"] is False
    assert view["is_completed"] is False
    assert _flags(view) == [(51, True, False), (52, False, False), (53, False, False)]
    assert view["next_lesson_id"] == 51
    assert [lesson["order"] for lesson in view["lessons"]] == [1, 2, 3]
    assert view["lessons"][0]["is_free"] is True


async def test_an_enrolled_learner_sees_every_lesson_open_and_the_next_one(api, paid_course, enrol):
    await enrol(42, 5)
    await api.post("/internal/learners/42/lessons/51/complete")

    view = (await api.get("/internal/learners/42/courses/5")).json()

    assert view["enrolled"] is True
    assert _flags(view) == [(51, True, True), (52, True, False), (53, True, False)]
    assert (view["completed_lessons"], view["total_lessons"], view["progress_percent"]) == (1, 3, 33)
    assert view["next_lesson_id"] == 52
    assert view["lessons"][0]["completed_at"] is not None


async def test_other_learners_progress_does_not_show(api, paid_course, enrol):
    await enrol(43, 5)
    await api.post("/internal/learners/43/lessons/52/complete")

    view = (await api.get("/internal/learners/42/courses/5")).json()

    assert view["completed_lessons"] == 0
    assert _flags(view)[1] == (52, False, False)


async def test_an_archived_course_stays_open_to_its_learners_only(api, paid_course, enrol, project_course, later):
    await enrol(42, 5)
    await project_course(CourseArchivedV1(course_id=5, archived_at=later(30)))

    mine = await api.get("/internal/learners/42/courses/5")
    stranger = await api.get("/internal/learners/43/courses/5")
    preview = await api.post("/internal/learners/43/lessons/51/complete")

    assert mine.status_code == 200
    assert _flags(mine.json())[2] == (53, True, False)
    assert stranger.status_code == 404
    assert stranger.json()["error"]["code"] == "course_not_found"
    # Not "enrol first" (403): nobody can enrol any more, and the course is as invisible as its card.
    assert preview.status_code == 404
    assert preview.json()["error"]["code"] == "lesson_not_found"


async def test_an_unknown_course_is_404(api):
    response = await api.get("/internal/learners/42/courses/404")

    assert response.status_code == 404


async def test_the_view_is_read_in_two_statements(api, resources, paid_course, enrol):
    """The course with the enrolment, then the lessons with the learner's progress (issue 11: the bot asks for
    this view on every course card and lesson; it took four statements)."""
    await enrol(42, 5)
    await api.post("/internal/learners/42/lessons/51/complete", json={})
    statements: list[str] = []

    def seen(_conn, _cursor, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engine = resources.engine.sync_engine
    sqlalchemy_event.listen(engine, "before_cursor_execute", seen)
    try:
        response = await api.get("/internal/learners/42/courses/5")
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", seen)

    assert response.status_code == 200, response.text
    assert _flags(response.json()) == [(51, True, True), (52, True, False), (53, True, False)]
    assert response.json()["enrolled"] is True
    assert len(statements) == 2, statements
