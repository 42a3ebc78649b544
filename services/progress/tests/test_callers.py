"""Issue 9 §2: every progress endpoint names its callers; what a learner does comes from the gateway only."""

from __future__ import annotations

import pytest
from academy_runtime.testing import (
    TestPlatform,
    api_client,
    assert_every_route_names_its_callers,
    operator_token,
)

pytestmark = pytest.mark.integration


async def test_every_route_refuses_a_caller_not_on_its_list(service, resources, platform: TestPlatform):
    assert await assert_every_route_names_its_callers(service, resources, platform) >= 10 * 6


async def test_support_reads_but_does_not_act_for_a_learner(service, resources, platform: TestPlatform):
    token = operator_token(platform, name="olga", roles=("support",), audience="progress")
    async with api_client(service, resources, token) as olga:
        assert (await olga.get("/internal/learners/4/courses")).status_code == 200
        enrol = await olga.post("/internal/learners/4/enrolments", json={"course_id": 1})
    assert enrol.status_code == 403
    assert enrol.json()["error"]["details"] == {"admits": "services gateway-bot"}
