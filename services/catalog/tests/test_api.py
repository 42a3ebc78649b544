"""Schemathesis over the service's OpenAPI: every check, with a valid token and without one."""

import pytest
from academy_runtime.api_tests import (
    ExpectedRefusal,
    api_test_tokens,
    test_api_conforms_to_openapi,
    test_api_refuses_unauthenticated,
)

__all__ = ["api_test_tokens", "test_api_conforms_to_openapi", "test_api_refuses_unauthenticated"]

# Facts of the data and rules across fields, which no schema holds:
_UNKNOWN_CATEGORY = "a category slug that is not in GET /internal/categories: 422"
_STARS_ARE_WHOLE = "a price in Telegram Stars (XTR) with a fraction: 422"
_CHAT_KIND = "a city community without its city or with a category, a profession one without a category: 422"


@pytest.fixture(scope="session")
def api_test_refusals() -> list[ExpectedRefusal]:
    return [
        ExpectedRefusal("GET /internal/courses", (422,), _UNKNOWN_CATEGORY),
        ExpectedRefusal("POST /internal/courses", (422,), f"{_UNKNOWN_CATEGORY}; {_STARS_ARE_WHOLE}"),
        ExpectedRefusal("PATCH /internal/courses/{course_id}", (422,), f"{_UNKNOWN_CATEGORY}; {_STARS_ARE_WHOLE}"),
        ExpectedRefusal("POST /internal/communities", (422,), f"{_CHAT_KIND}; {_UNKNOWN_CATEGORY}"),
        ExpectedRefusal("PATCH /internal/communities/{community_id}", (422,), f"{_CHAT_KIND}; {_UNKNOWN_CATEGORY}"),
    ]
