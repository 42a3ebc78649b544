"""Issue 9 §2, §3: who may call the users service; support operators are named in the audit log."""

from __future__ import annotations

import time

import jwt
import pytest
from academy_runtime.auth import OPERATORS_ISSUER
from academy_runtime.testing import (
    TestPlatform,
    api_client,
    assert_every_route_names_its_callers,
    operator_token,
    service_token,
)
from academy_users.models import AuditLog
from sqlalchemy import select

from .test_registration import registration

pytestmark = pytest.mark.integration


async def _registered(api, telegram_id: int) -> int:
    response = await api.post("/internal/users/register", json=registration(telegram_id))
    return response.json()["learner"]["id"]


async def _audit(resources, user_id: int) -> list[tuple[str, str, str | None]]:
    async with resources.sessionmaker() as session:
        stmt = (
            select(AuditLog.actor, AuditLog.action, AuditLog.reason)
            .where(AuditLog.user_id == user_id)
            .order_by(AuditLog.id)
        )
        return [(row.actor, row.action, row.reason) for row in (await session.execute(stmt)).all()]


async def test_every_route_refuses_a_caller_not_on_its_list(service, resources, platform: TestPlatform):
    assert await assert_every_route_names_its_callers(service, resources, platform) >= 10


@pytest.mark.parametrize("caller", ["billing", "progress", "catalog", "gamification", "users"])
async def test_only_the_gateway_changes_a_profile(api, service, resources, platform, caller):
    """Any service could PATCH a profile with the shared secret; now only the gateway (and support) may."""
    user_id = await _registered(api, 5100)
    token = service_token(platform, caller=caller, audience="users")
    async with api_client(service, resources, token) as other:
        response = await other.patch(f"/internal/users/{user_id}", json={"city": "Казань"})
    assert response.status_code == 403
    assert response.json()["error"]["message"].startswith(f"service '{caller}' may not call PATCH /internal/users/")
    assert (await api.get(f"/internal/users/{user_id}")).json()["city"] != "Казань"


async def test_billing_reads_a_learner_for_a_receipt(api, service, resources, platform):
    user_id = await _registered(api, 5101)
    async with api_client(service, resources, service_token(platform, caller="billing", audience="users")) as billing:
        assert (await billing.get(f"/internal/users/{user_id}")).status_code == 200
        assert (await billing.get("/internal/users/by-telegram/5101")).status_code == 403


async def test_a_support_operator_is_named_in_the_audit_log(api, service, resources, platform):
    user_id = await _registered(api, 5102)
    token = operator_token(platform, name="olga", roles=("support",), audience="users")
    ticket = {"x-audit-reason": "SUP-1234"}
    async with api_client(service, resources, token) as olga:
        assert (await olga.get(f"/internal/users/{user_id}", headers=ticket)).status_code == 200
        changed = await olga.patch(f"/internal/users/{user_id}", json={"city": "Казань"}, headers=ticket)
        assert changed.status_code == 200, changed.text
        refused = await olga.post("/internal/users/register", json=registration(5103))
    assert refused.status_code == 403
    assert await _audit(resources, user_id) == [
        ("gateway-bot", "registered", "learner_request"),
        ("operator:olga", "profile_read", "SUP-1234"),
        ("operator:olga", "profile_updated", "SUP-1234"),
    ]


async def test_an_operator_without_the_support_role_cannot_read_a_learner(api, service, resources, platform):
    user_id = await _registered(api, 5104)
    token = operator_token(platform, name="fin", roles=("finance", "catalog-editor"), audience="users")
    async with api_client(service, resources, token) as fin:
        response = await fin.get(f"/internal/users/{user_id}")
    assert response.status_code == 403
    assert await _audit(resources, user_id) == [("gateway-bot", "registered", "learner_request")]


async def test_an_operator_token_whose_name_is_a_full_name_and_phone_is_refused(api, service, resources, platform):
    """Without OPERATOR_ACCOUNTS (development) the token's `sub` is trusted as it is: before, a person's name
    and phone landed in the audit log as the actor. Signed by the operators' key, it is still a 401."""
    user_id = await _registered(api, 5104)
    key = platform.signing_key(OPERATORS_ISSUER)
    now = int(time.time())
    claims = {"iss": OPERATORS_ISSUER, "sub": "Прасковья Второва +79161234598", "roles": ["support"]}
    token = jwt.encode(
        {**claims, "aud": "users", "iat": now, "exp": now + 60},
        key.private_key,
        algorithm="EdDSA",
        headers={"kid": key.kid},
    )
    async with api_client(service, resources, token) as stranger:
        response = await stranger.get(f"/internal/users/{user_id}", headers={"x-audit-reason": "SUP-1234"})
    assert response.status_code == 401
    assert "a login" in response.json()["error"]["message"]
    assert await _audit(resources, user_id) == [("gateway-bot", "registered", "learner_request")]
