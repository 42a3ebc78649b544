"""Issue 12: the ids of the learners of courses or of a category, for a broadcast's segment — keyset-paged,
each learner once, ids only, the gateway only; and the gateway may read the inactive learners."""

from __future__ import annotations

import pytest
from academy_runtime.testing import api_client, service_token

pytestmark = pytest.mark.integration


@pytest.fixture
async def enrolments(project_course, make_course_event, enrol):
    await project_course(make_course_event(9301, lesson_ids=(93011,)))
    await project_course(make_course_event(9302, lesson_ids=(93021,)))
    await project_course(make_course_event(9303, lesson_ids=(93031,)).model_copy(update={"category": "b12-brows"}))
    await enrol(9_301_001, 9301)
    await enrol(9_301_001, 9302)  # two courses: listed once
    await enrol(9_301_002, 9302)
    await enrol(9_301_003, 9303)
    await enrol(9_301_004, 9303)


async def test_learners_of_courses_once_each_page_by_page(api, enrolments):
    url = "/internal/enrolments/learner-ids"
    first = await api.get(url, params={"course_id": [9301, 9302], "limit": 1})
    assert first.status_code == 200, first.text
    assert first.json() == {"user_ids": [9_301_001], "next_after_user_id": 9_301_001}
    rest = await api.get(url, params={"course_id": [9301, 9302], "after_user_id": 9_301_001})
    assert rest.json() == {"user_ids": [9_301_002], "next_after_user_id": None}
    assert (await api.get(url, params={"course_id": 9303})).json()["user_ids"] == [9_301_003, 9_301_004]


async def test_learners_of_a_category(api, enrolments):
    body = (await api.get("/internal/enrolments/category-learner-ids", params={"category": "b12-brows"})).json()
    assert body == {"user_ids": [9_301_003, 9_301_004], "next_after_user_id": None}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("learner-ids", {}),
        ("learner-ids", {"course_id": 0}),
        ("learner-ids", {"course_id": 2**31}),
        ("learner-ids", {"course_id": 1, "limit": 0}),
        ("learner-ids", {"course_id": list(range(1, 102))}),
        ("category-learner-ids", {}),
        ("category-learner-ids", {"category": "a\x00b"}),
        ("category-learner-ids", {"category": "a\u202eb"}),
        ("category-learner-ids", {"category": "Маникюр"}),
        ("category-learner-ids", {"category": "x" * 101}),
    ],
)
async def test_bad_questions_are_4xx(api, path, params):
    response = await api.get(f"/internal/enrolments/{path}", params=params)
    assert 400 <= response.status_code < 500
    assert response.status_code != 404


async def test_only_the_gateway_reads_segments_and_it_may_read_the_inactive(service, resources, platform, api):
    billing = service_token(platform, caller="billing", audience="progress")
    async with api_client(service, resources, billing) as other:
        assert (await other.get("/internal/enrolments/learner-ids", params={"course_id": 1})).status_code == 403
        category = await other.get("/internal/enrolments/category-learner-ids", params={"category": "x"})
        assert category.status_code == 403
        assert (await other.get("/internal/learners/inactive")).status_code == 403
    assert (await api.get("/internal/learners/inactive", params={"days": 3})).status_code == 200
