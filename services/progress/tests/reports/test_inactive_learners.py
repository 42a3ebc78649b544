"""GET /internal/learners/inactive: the seed's query 3, with data a wrong join or filter would get wrong."""

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
async def learners(project_course, make_course_event, enrol, record_progress):
    """Who should be on the list (inactive for 7 days, an unfinished course) and who should not."""
    await project_course(make_course_event(1, lesson_ids=(11, 12, 13)))
    await project_course(make_course_event(2, lesson_ids=(21, 22)))
    # 1: last completion 10 days ago, course unfinished → listed.
    await enrol(1, 1, at=days_ago(30))
    await record_progress(1, 1, 11, completed_at=days_ago(10))
    # 2: completed a lesson 2 days ago in ANOTHER course (even one already completed) → active.
    await enrol(2, 1, at=days_ago(30))
    await enrol(2, 2, at=days_ago(30), completed_at=days_ago(2))
    await record_progress(2, 2, 21, completed_at=days_ago(2))
    # 3: only completed courses, nothing for 20 days → nothing to remind of.
    await enrol(3, 1, at=days_ago(40), completed_at=days_ago(20))
    await record_progress(3, 1, 11, completed_at=days_ago(20))
    # 4: two unfinished courses, many old completions → listed once.
    await enrol(4, 1, at=days_ago(60))
    await enrol(4, 2, at=days_ago(50))
    for lesson_id, course_id, age in ((11, 1, 30), (12, 1, 25), (21, 2, 9)):
        await record_progress(4, course_id, lesson_id, completed_at=days_ago(age))
    # 5: started (not completed) a lesson recently: uncompleted rows are no activity → listed.
    await enrol(5, 2, at=days_ago(30))
    await record_progress(5, 2, 22, completed_at=None)
    # 6: completed a free preview long ago but enrolled nowhere → not listed.
    await record_progress(6, 1, 11, completed_at=days_ago(15))
    # 7: never completed anything, unfinished course → listed, no last activity.
    await enrol(7, 1, at=days_ago(3))


async def test_inactive_learners_are_listed_once_each(operator_api, learners):
    response = await operator_api.get("/internal/learners/inactive", params={"days": 7})

    assert response.status_code == 200, response.text
    body = response.json()
    assert [row["user_id"] for row in body] == [1, 4, 5, 7]
    by_user = {row["user_id"]: row for row in body}
    assert by_user[1]["last_activity_at"] is not None
    assert abs(datetime.fromisoformat(by_user[4]["last_activity_at"]) - days_ago(9)) < timedelta(seconds=1)
    assert by_user[5]["last_activity_at"] is None
    assert by_user[7]["last_activity_at"] is None


async def test_the_window_is_a_parameter(operator_api, learners):
    body = (await operator_api.get("/internal/learners/inactive", params={"days": 12})).json()

    # With 12 days, learner 1 (10 days) and 4 (9 days) were active enough.
    assert [row["user_id"] for row in body] == [5, 7]


async def test_keyset_pagination(operator_api, learners):
    first = (await operator_api.get("/internal/learners/inactive", params={"limit": 2})).json()
    rest = (await operator_api.get("/internal/learners/inactive", params={"limit": 2, "after_user_id": 4})).json()

    assert [row["user_id"] for row in first] == [1, 4]
    assert [row["user_id"] for row in rest] == [5, 7]


@pytest.mark.parametrize(("params", "field"), [({"days": 0}, "query.days"), ({"days": "week"}, "query.days")])
async def test_invalid_days_is_422(operator_api, params, field):
    response = await operator_api.get("/internal/learners/inactive", params=params)

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field
