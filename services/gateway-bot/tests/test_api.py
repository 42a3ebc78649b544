"""Schemathesis over the service's OpenAPI: every check, with a valid token and without one."""

from academy_runtime.api_tests import (
    api_test_refusals,
    api_test_tokens,
    test_api_conforms_to_openapi,
    test_api_refuses_unauthenticated,
)

__all__ = ["api_test_refusals", "api_test_tokens", "test_api_conforms_to_openapi", "test_api_refuses_unauthenticated"]
