"""Issue 9 §2, §3: who may call billing; finance operators are named on every change they make."""

from __future__ import annotations

import pytest
from academy_billing.models import ExchangeRate
from academy_runtime.testing import (
    TestPlatform,
    api_client,
    assert_every_route_names_its_callers,
    operator_token,
    service_token,
)
from sqlalchemy import select

pytestmark = pytest.mark.integration

ADJUSTMENT = {"json": {"delta": 50, "reason": "goodwill credit"}, "headers": {"idempotency-key": "adj-callers"}}


async def test_every_route_refuses_a_caller_not_on_its_list(service, resources, platform: TestPlatform):
    checked = await assert_every_route_names_its_callers(service, resources, platform, public={"/webhooks/yookassa"})
    assert checked > 100


@pytest.mark.parametrize("caller", ["gateway-bot", "progress", "users", "catalog", "gamification", "billing"])
async def test_no_service_may_adjust_a_wallet(service, resources, platform, caller):
    """Any holder of the shared secret could credit coins; adjustments are now finance operators' alone."""
    async with api_client(service, resources, service_token(platform, caller=caller, audience="billing")) as client:
        response = await client.post("/internal/wallets/301/adjustments", **ADJUSTMENT)
        assert (await client.get("/internal/wallets/301")).status_code in {200, 403}
    assert response.status_code == 403
    assert response.json()["error"]["details"] == {"admits": "operators with role finance"}


@pytest.mark.parametrize("roles", [("support",), ("catalog-editor",), ("support", "catalog-editor")])
async def test_an_operator_without_the_finance_role_may_not_move_money(service, resources, platform, roles):
    token = operator_token(platform, name="bob", roles=roles, audience="billing")
    async with api_client(service, resources, token) as bob:
        adjustment = await bob.post("/internal/wallets/302/adjustments", **ADJUSTMENT)
        rate = await bob.put("/internal/exchange-rates/USD", json={"stars_per_unit": "50", "coins_per_unit": "90"})
        refund = await bob.post(
            "/internal/purchases/1/refund", json={"reason": "asked"}, headers={"idempotency-key": "r"}
        )
    assert [adjustment.status_code, rate.status_code, refund.status_code] == [403, 403, 403]


async def test_a_finance_operators_changes_carry_their_name(service, resources, platform):
    token = operator_token(platform, name="alice", roles=("finance",), audience="billing")
    async with api_client(service, resources, token) as alice:
        adjusted = await alice.post("/internal/wallets/303/adjustments", **ADJUSTMENT)
        rate = await alice.put("/internal/exchange-rates/USD", json={"stars_per_unit": "55", "coins_per_unit": "95"})
    assert adjusted.status_code == 200, adjusted.text
    assert adjusted.json()["transaction"]["description"] == "goodwill credit (operator:alice)"
    assert adjusted.json()["transaction"]["reference"] == "adjustment:operator:alice:adj-callers"
    assert rate.status_code == 200, rate.text
    async with resources.sessionmaker() as session:
        updated_by = (await session.execute(select(ExchangeRate.updated_by))).scalars().all()
    assert updated_by == ["operator:alice"]
