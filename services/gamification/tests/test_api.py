"""Schemathesis over the service's OpenAPI: every check, with a valid token and without one.

Learners 1..3, the small ids the generated requests use most and the one the examples name, are registered
as `users.user_registered` would make them known: setting a learner's leaderboard visibility is refused
with 404 `learner_not_found` for a learner gamification has not heard of."""

import pytest
from academy_runtime.api_tests import (
    ExpectedRefusal,
    api_test_tokens,
    test_api_conforms_to_openapi,
    test_api_refuses_unauthenticated,
)

LEARNERS = 3


@pytest.fixture(autouse=True)
async def _registered_learners(gamification) -> None:
    for user_id in range(1, LEARNERS + 1):
        await gamification.publish(gamification.registered(user_id, display_name="Анна Т."))
    await gamification.wait_handled("learner-profiles", LEARNERS)


__all__ = ["api_test_tokens", "test_api_conforms_to_openapi", "test_api_refuses_unauthenticated"]


@pytest.fixture(scope="session")
def api_test_refusals() -> list[ExpectedRefusal]:
    return [
        # Query parameters cannot require each other in OpenAPI.
        ExpectedRefusal(
            "GET /internal/leaderboards",
            (422,),
            "scope=city needs a city with letters in it, scope=category a category: 422",
        ),
    ]
