"""Schemathesis over the service's OpenAPI: every check, with a valid token and without one."""

import pytest
from academy_runtime.api_tests import (
    ExpectedRefusal,
    api_test_tokens,
    test_api_conforms_to_openapi,
    test_api_refuses_unauthenticated,
)

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
