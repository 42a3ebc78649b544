"""Issue 9 §2: every gamification endpoint names its callers (the gateway, support operators)."""

from __future__ import annotations

import pytest
from academy_runtime.testing import TestPlatform, api_client, assert_every_route_names_its_callers, operator_token

pytestmark = pytest.mark.integration


async def test_every_route_refuses_a_caller_not_on_its_list(service, resources, platform: TestPlatform):
    assert await assert_every_route_names_its_callers(service, resources, platform) >= 3 * 6


async def test_a_support_operator_sees_a_learners_points(service, resources, platform: TestPlatform):
    token = operator_token(platform, name="olga", roles=("support",), audience="gamification")
    async with api_client(service, resources, token) as olga:
        assert (await olga.get("/internal/learners/4/points")).status_code == 200
