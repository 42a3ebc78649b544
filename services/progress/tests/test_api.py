"""Schemathesis over the service's OpenAPI: every check, with a valid token and without one.

Every learner-keyed write is refused for a learner progress has not heard of (404 `learner_not_found`):
learners 1..3, the small ids the generated requests use most, are registered before the tests run, so
those writes are tried past the check. Courses 1 and 2 are projected as the catalog's events would,
so the examples (learner 1 enrols on course 1, completes lesson 1...) succeed."""

import pytest
from academy_runtime.api_tests import (
    ExpectedRefusal,
    api_test_tokens,
    test_api_conforms_to_openapi,
    test_api_refuses_unauthenticated,
)

LEARNERS = 3


@pytest.fixture(autouse=True)
async def _registered_learners(register_learners, project_course, make_course_event, enrol, t0) -> None:
    """Learners 1..3, as their `users.user_registered` would make them known (each test starts empty), and
    what the OpenAPI examples name: course 1, free, with lessons 1..3, and course 2, paid, with lessons 4
    and 5, as their `catalog.course_published` would project them; learner 1 has completed course 2 (a
    transcript to issue) and enrols on course 1 in the examples."""
    await register_learners(*range(1, LEARNERS + 1))
    await project_course(make_course_event(1, lesson_ids=(1, 2, 3)))
    await project_course(make_course_event(2, lesson_ids=(4, 5), price="4900.00"))
    await enrol(1, 2, at=t0, completed_at=t0)


__all__ = ["api_test_tokens", "test_api_conforms_to_openapi", "test_api_refuses_unauthenticated"]


@pytest.fixture(scope="session")
def api_test_refusals() -> list[ExpectedRefusal]:
    return [
        ExpectedRefusal(
            "PUT /internal/learners/{user_id}/preferences",
            (422,),
            "a time zone name the IANA tz database does not know: 422 (no pattern holds the database)",
        ),
    ]
