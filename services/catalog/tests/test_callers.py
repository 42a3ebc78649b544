"""Issue 9 §2, §3: who may call the catalog, and the operator's name on every change."""

from __future__ import annotations

import pytest
from academy_catalog.models import AuditLog
from academy_runtime.testing import (
    TestPlatform,
    api_client,
    assert_every_route_names_its_callers,
    operator_token,
    service_token,
)
from sqlalchemy import select


async def test_every_route_refuses_a_caller_not_on_its_list(service, resources, platform: TestPlatform):
    checked = await assert_every_route_names_its_callers(service, resources, platform)
    assert checked > 50


async def test_the_gateway_reads_the_catalog_but_cannot_change_it(service, resources, platform, make_payload):
    token = service_token(platform, caller="gateway-bot", audience="catalog")
    async with api_client(service, resources, token) as gateway:
        assert (await gateway.get("/internal/categories")).status_code == 200
        refused = await gateway.post("/internal/courses", json=make_payload())
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == (
        "service 'gateway-bot' may not call POST /internal/courses; it admits operators with role catalog-editor"
    )


@pytest.mark.parametrize("role", ["support", "finance"])
async def test_an_operator_without_the_catalog_editor_role_cannot_change_it(
    service, resources, platform, make_payload, role
):
    token = operator_token(platform, name="bob", roles=(role,), audience="catalog")
    async with api_client(service, resources, token) as bob:
        response = await bob.post("/internal/courses", json=make_payload())
    assert response.status_code == 403
    assert f"operator 'bob' (roles: {role})" in response.json()["error"]["message"]


async def test_every_change_an_editor_makes_names_them_in_the_audit_log(service, resources, platform, make_payload):
    token = operator_token(platform, name="alice", roles=("catalog-editor",), audience="catalog")
    async with api_client(service, resources, token) as alice:
        created = (await alice.post("/internal/courses", json=make_payload())).json()
        await alice.patch(f"/internal/courses/{created['id']}", json={"price": "5900"})
        await alice.post(f"/internal/courses/{created['id']}/publish")
        await alice.post(f"/internal/courses/{created['id']}/archive")
        community = await alice.post(
            "/internal/communities",
            json={"title": "Маникюр Казань", "type": "city", "city": "Казань", "telegram_link": "https://t.me/+abc"},
        )
    async with resources.sessionmaker() as session:
        rows = (await session.execute(select(AuditLog).order_by(AuditLog.id))).scalars().all()
    assert [(row.actor, row.action, row.subject_id) for row in rows][:4] == [
        ("operator:alice", "course_created", created["id"]),
        ("operator:alice", "course_edited", created["id"]),
        ("operator:alice", "course_published", created["id"]),
        ("operator:alice", "course_archived", created["id"]),
    ]
    assert rows[1].details == {"course_id": created["id"], "price": "5900.00"}
    assert community.status_code == 201, community.text
    assert (rows[4].actor, rows[4].action, rows[4].subject_id) == (
        "operator:alice",
        "community_created",
        community.json()["id"],
    )


async def test_a_refused_change_records_nothing(service, resources, platform, make_payload):
    token = operator_token(platform, name="alice", roles=("catalog-editor",), audience="catalog")
    async with api_client(service, resources, token) as alice:
        assert (await alice.post("/internal/courses/999/publish")).status_code == 404
    async with resources.sessionmaker() as session:
        assert (await session.execute(select(AuditLog))).scalars().all() == []
