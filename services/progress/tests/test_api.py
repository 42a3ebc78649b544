"""Schemathesis over the service's OpenAPI: every check, with a valid token and without one.

Every learner-keyed write is refused for a learner progress has not heard of (404 `learner_not_found`):
learners 1..3, the small ids the generated requests use most, are registered before the tests run, so
those writes are tried past the check."""

import pytest
from academy_runtime.api_tests import (
    ExpectedRefusal,
    api_test_tokens,
    test_api_conforms_to_openapi,
    test_api_refuses_unauthenticated,
)

LEARNERS = 3


@pytest.fixture(autouse=True)
async def _registered_learners(register_learners) -> None:
    """Learners 1..3, as their `users.user_registered` would make them known (each test starts empty)."""
    await register_learners(*range(1, LEARNERS + 1))


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
