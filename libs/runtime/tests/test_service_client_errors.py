"""A callee's error answer becomes a typed error the caller can catch, with the callee's code and details."""

import httpx
import pytest
from academy_runtime.auth import TokenCache, generate_signing_key
from academy_runtime.client import (
    ConflictCallError,
    ForbiddenCallError,
    PaymentRequiredCallError,
    RejectedCallError,
    ServiceCallError,
    ServiceClient,
)
from academy_runtime.errors import DependencyUnavailableError, NotFoundError


def _answering(status: int, code: str = "some_code") -> ServiceClient:
    def reply(request: httpx.Request) -> httpx.Response:
        body = {"error": {"code": code, "message": "no", "details": {"course_id": 7}}}
        return httpx.Response(status, json=body)

    return ServiceClient(
        "progress",
        "http://progress",
        TokenCache(generate_signing_key(), "gateway-bot"),
        retries=0,
        transport=httpx.MockTransport(reply),
    )


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (402, PaymentRequiredCallError),
        (403, ForbiddenCallError),
        (409, ConflictCallError),
        (422, RejectedCallError),
        (400, ServiceCallError),
        (404, NotFoundError),
        (503, DependencyUnavailableError),
    ],
)
async def test_each_status_a_caller_acts_on_has_its_type(status, error_type):
    client = _answering(status, code="course_archived")
    with pytest.raises(error_type) as caught:
        await client.get("/internal/anything")
    await client.aclose()
    if isinstance(caught.value, ServiceCallError):
        assert (caught.value.status_code, caught.value.code) == (status, "course_archived")
        assert caught.value.details == {"course_id": 7}
