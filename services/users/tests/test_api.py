"""Schemathesis over the service's OpenAPI: every check, with a valid token and without one.

A few learners are registered first (ids 1..4, the small ids generated requests use most), so reads and
profile changes reach a learner; generated registrations rarely do, as few random E.164 numbers exist. The
erasure's example erases learner 4, so the examples of the other operations (learner 1) still find theirs.
"""

import httpx
import pytest
from academy_runtime.api_tests import (
    ExpectedRefusal,
    api_test_tokens,
    test_api_conforms_to_openapi,
    test_api_refuses_unauthenticated,
)
from academy_runtime.http import create_app
from academy_runtime.resources import Resources
from academy_runtime.service import ServiceDefinition
from academy_runtime.testing import TestPlatform, register_api_test_learners, service_token

__all__ = ["api_test_tokens", "test_api_conforms_to_openapi", "test_api_refuses_unauthenticated"]

# E.164's shape is in the schema; whether the number exists in its country's numbering plan
# (libphonenumber) and whether a zone is in the tz database are facts no pattern can hold.
_PHONE_PLAN = "a phone in E.164 shape that is not valid in its country's numbering plan: 422 invalid_phone"
_TIME_ZONE = "a time zone name the IANA tz database does not know: 422"
_ONE_LINE = "a name, city or username with a control or format character (Unicode Cc, Cf): 422 control_characters"


LEARNERS = 4


@pytest.fixture(scope="module", autouse=True)
async def learners(platform: TestPlatform, service: ServiceDefinition, resources: Resources) -> None:
    app = create_app(service, resources.settings)
    app.state.resources = resources
    token = service_token(platform, caller="gateway-bot", audience="users")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://users", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        await register_api_test_learners(client, LEARNERS)


@pytest.fixture(scope="session")
def api_test_refusals() -> list[ExpectedRefusal]:
    return [
        ExpectedRefusal("POST /internal/users/register", (422,), f"{_PHONE_PLAN}; {_TIME_ZONE}; {_ONE_LINE}"),
        ExpectedRefusal("PATCH /internal/users/{user_id}", (422,), f"{_PHONE_PLAN}; {_TIME_ZONE}; {_ONE_LINE}"),
        ExpectedRefusal("POST /internal/users/lookup-by-phone", (422,), _PHONE_PLAN),
        ExpectedRefusal("GET /internal/users/ids", (422,), _ONE_LINE),
    ]
