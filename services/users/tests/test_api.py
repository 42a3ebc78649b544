"""Schemathesis over the service's OpenAPI: every check, with a valid token and without one."""

import pytest
from academy_runtime.api_tests import (
    ExpectedRefusal,
    api_test_tokens,
    test_api_conforms_to_openapi,
    test_api_refuses_unauthenticated,
)

__all__ = ["api_test_tokens", "test_api_conforms_to_openapi", "test_api_refuses_unauthenticated"]

# E.164's shape is in the schema; whether the number exists in its country's numbering plan
# (libphonenumber) and whether a zone is in the tz database are facts no pattern can hold.
_PHONE_PLAN = "a phone in E.164 shape that is not valid in its country's numbering plan: 422 invalid_phone"
_TIME_ZONE = "a time zone name the IANA tz database does not know: 422"


@pytest.fixture(scope="session")
def api_test_refusals() -> list[ExpectedRefusal]:
    return [
        ExpectedRefusal("POST /internal/users/register", (422,), f"{_PHONE_PLAN}; {_TIME_ZONE}"),
        ExpectedRefusal("PATCH /internal/users/{user_id}", (422,), f"{_PHONE_PLAN}; {_TIME_ZONE}"),
    ]
