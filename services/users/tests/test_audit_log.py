"""The audit log (issue 10): who read or changed a learner's personal data, what, when and why; operators
give a reason; the log holds no personal values; auditors query it, and their reading is recorded too."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from academy_runtime.migrations import migrate
from academy_runtime.testing import api_client, operator_token
from academy_users.accounts.repository import UserRepository
from academy_users.models import AuditLog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from .test_registration import register_learner

pytestmark = pytest.mark.integration

TICKET = {"x-audit-reason": "SUP-1234"}


@pytest.fixture
async def auditor(service, resources, platform):
    token = operator_token(platform, name="audrey", roles=("auditor",), audience="users")
    async with api_client(service, resources, token) as client:
        yield client


async def _entries(resources, user_id: int | None = None) -> list[tuple[str, str, str | None, dict]]:
    async with resources.sessionmaker() as session:
        stmt = select(AuditLog).order_by(AuditLog.id)
        if user_id is not None:
            stmt = stmt.where(AuditLog.user_id == user_id)
        return [(e.actor, e.action, e.reason, e.details) for e in (await session.execute(stmt)).scalars()]


# -- what is recorded ---------------------------------------------------------------------------------


async def test_every_read_and_change_of_personal_data_is_recorded_with_who_and_why(api, support, resources):
    user_id = await register_learner(api, 6001, username="anna_nails")

    await api.get(f"/internal/users/{user_id}")  # the gateway, for the learner: not a read to account for
    await support.get(f"/internal/users/{user_id}", headers=TICKET)
    await support.get("/internal/users/by-telegram/6001", headers={"x-audit-reason": "SUP-77"})
    await support.patch(f"/internal/users/{user_id}", json={"phone": "+79030001122"}, headers=TICKET)
    await api.patch(f"/internal/users/{user_id}", json={"city": "Омск", "full_name": "Анна Петрова"})
    await api.get(f"/internal/users/{user_id}/personal-data")

    assert await _entries(resources, user_id) == [
        ("gateway-bot", "registered", "learner_request", {"consent_version": "2026-11-01"}),
        ("operator:olga", "profile_read", "SUP-1234", {"via": "id"}),
        ("operator:olga", "profile_read", "SUP-77", {"via": "telegram_id"}),
        ("operator:olga", "profile_updated", "SUP-1234", {"fields": ["phone"]}),
        (
            "gateway-bot",
            "profile_updated",
            "learner_request",
            {"fields": ["full_name", "city", "time_zone", "display_name"]},
        ),
        (
            "gateway-bot",
            "exported",
            "learner_request",
            {"sections": ["profile", "avatars", "audit_log"], "avatars": 0},
        ),
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/internal/users/{id}"),
        ("GET", "/internal/users/by-telegram/6002"),
        ("PATCH", "/internal/users/{id}"),
        ("GET", "/internal/users/{id}/personal-data"),
        ("POST", "/internal/users/{id}/erasure"),
    ],
)
async def test_an_operator_must_say_why(api, support, resources, method, path):
    user_id = await register_learner(api, 6002)
    bodies = {"PATCH": {"city": "Омск"}, "POST": {"reason": "operator_request"}}

    response = await support.request(method, path.format(id=user_id), json=bodies.get(method))

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "audit_reason_required"
    assert "X-Audit-Reason" in response.json()["error"]["message"]
    assert await _entries(resources, user_id) == [
        ("gateway-bot", "registered", "learner_request", {"consent_version": "2026-11-01"})
    ]
    assert (await api.get(f"/internal/users/{user_id}")).json()["city"] == "Москва"


@pytest.mark.parametrize(
    "reason",
    [
        "Анна Смирнова",
        "Anna Smirnova",
        "+79161234567",
        "79161234567",
        "Anna",
        "SUP 1234",
        "a" * 65,
        "x-"[:1],
        # Both fitted the earlier pattern (a letter, a separator, letters and digits): a phone and a name.
        "tel:79161234598",
        "Praskovya.Vtorova",
        "SUP-79161234598",  # a phone dressed as a ticket: at most 8 digits
        "ticket:4711",
        "sup-1234",
    ],
)
async def test_a_reason_that_could_hold_a_name_or_a_phone_is_refused(api, support, resources, reason):
    user_id = await register_learner(api, 6003)

    response = await support.get(f"/internal/users/{user_id}", headers={"x-audit-reason": reason.encode()})

    assert response.status_code == 422
    assert len(await _entries(resources, user_id)) == 1


@pytest.mark.parametrize("reason", ["SUP-1234", "ZD-5521", "GDPR-20261130", "learner_request"])
async def test_ticket_references_are_reasons(api, support, reason):
    user_id = await register_learner(api, 6004)

    response = await support.get(f"/internal/users/{user_id}", headers={"x-audit-reason": reason})

    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "details",
    [
        {"full_name": "Анна Смирнова"},
        {"phone": "+79161234567"},
        {"fields": ["city", "Москва"]},
        {"note": "called the learner"},
        {"email": "anna@example.com"},
        {"telegram_id": 2**63},
        {"value": 1.5},
    ],
)
async def test_the_audit_log_refuses_details_that_are_values(resources, details):
    async with resources.sessionmaker() as session:
        with pytest.raises(ValueError, match="audit details"):
            UserRepository(session).audit(user_id=1, actor="operator:olga", action="profile_updated", details=details)


async def test_a_reason_is_checked_by_the_table_too(resources):
    """No code path can put a name into `reason`: the column's CHECK refuses what the API would."""
    from sqlalchemy.exc import IntegrityError

    async with resources.sessionmaker() as session:
        session.add(AuditLog(user_id=1, actor="operator:olga", action="profile_read", reason="Анна Смирнова"))
        with pytest.raises(IntegrityError, match="reason_is_a_reference"):
            await session.flush()


async def test_the_migration_removes_earlier_reasons_that_could_hold_a_name_or_a_phone(service, scratch_database_url):
    await asyncio.to_thread(migrate, service, "upgrade", "d7a1c3e5f9b2", database_url=scratch_database_url)
    engine = create_async_engine(scratch_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users.audit_log (user_id, actor, action, reason) VALUES "
                    "(1, 'operator:olga', 'profile_read', 'tel:79161234598'), "
                    "(1, 'operator:olga', 'profile_read', 'Praskovya.Vtorova'), "
                    "(1, 'operator:olga', 'profile_read', 'SUP-1234'), "
                    "(1, 'gateway-bot', 'registered', 'learner_request'), "
                    "(1, 'users:reencrypt-personal-data', 'personal_data_reencrypted', NULL)"
                )
            )
        await asyncio.to_thread(migrate, service, "upgrade", "head", database_url=scratch_database_url)
        async with engine.connect() as connection:
            reasons = (await connection.execute(text("SELECT reason FROM users.audit_log ORDER BY id"))).scalars()
            assert list(reasons) == ["reason_removed", "reason_removed", "SUP-1234", "learner_request", None]
    finally:
        await engine.dispose()


# -- the query API ------------------------------------------------------------------------------------


async def test_only_auditors_read_the_audit_log(api, support, service, resources, platform):
    await register_learner(api, 6101)
    for client in (api, support):
        response = await client.get("/internal/audit-log")
        assert response.status_code == 403
        assert response.json()["error"]["details"]["admits"] == "operators with role auditor"
    token = operator_token(platform, name="fin", roles=("finance", "catalog-editor"), audience="users")
    async with api_client(service, resources, token) as finance:
        assert (await finance.get("/internal/audit-log")).status_code == 403


async def test_the_audit_log_pages_newest_first(api, auditor, resources):
    learners = [await register_learner(api, 6200 + n) for n in range(5)]

    first = await auditor.get("/internal/audit-log", params={"limit": 2, "action": "registered"})
    second = await auditor.get(
        "/internal/audit-log",
        params={"limit": 2, "action": "registered", "before_id": first.json()["next_before_id"]},
    )
    last = await auditor.get(
        "/internal/audit-log",
        params={"limit": 2, "action": "registered", "before_id": second.json()["next_before_id"]},
    )

    assert first.status_code == 200, first.text
    pages = [first.json(), second.json(), last.json()]
    assert [[e["user_id"] for e in page["entries"]] for page in pages] == [
        learners[4:2:-1],
        learners[2:0:-1],
        learners[0:1],
    ]
    assert pages[2]["next_before_id"] is None
    entry = pages[0]["entries"][0]
    assert (entry["actor"], entry["action"], entry["reason"]) == ("gateway-bot", "registered", "learner_request")
    assert set(entry) == {"id", "user_id", "actor", "action", "reason", "details", "created_at"}


async def test_the_audit_log_filters_by_learner_actor_action_and_time(api, support, auditor, resources):
    anna = await register_learner(api, 6301)
    boris = await register_learner(api, 6302)
    await support.get(f"/internal/users/{anna}", headers=TICKET)
    await support.get(f"/internal/users/{boris}", headers=TICKET)
    now = datetime.now(UTC)

    by_learner = (await auditor.get("/internal/audit-log", params={"user_id": anna})).json()
    by_actor = (await auditor.get("/internal/audit-log", params={"actor": "operator:olga"})).json()
    reads_of_boris = (
        await auditor.get("/internal/audit-log", params={"user_id": boris, "action": "profile_read"})
    ).json()
    future = (await auditor.get("/internal/audit-log", params={"since": (now + timedelta(hours=1)).isoformat()})).json()
    past = (await auditor.get("/internal/audit-log", params={"until": (now - timedelta(hours=1)).isoformat()})).json()

    assert [e["action"] for e in by_learner["entries"]] == ["profile_read", "registered"]
    assert [e["user_id"] for e in by_actor["entries"]] == [boris, anna]
    assert [(e["user_id"], e["reason"]) for e in reads_of_boris["entries"]] == [(boris, "SUP-1234")]
    assert future["entries"] == past["entries"] == []


async def test_reading_the_audit_log_is_recorded(api, auditor, resources):
    anna = await register_learner(api, 6401)

    await auditor.get("/internal/audit-log", params={"user_id": anna, "action": "registered"})
    await auditor.get("/internal/audit-log", headers={"x-audit-reason": "AUDIT-2026"})
    after = (await auditor.get("/internal/audit-log", params={"action": "audit_log_read"})).json()

    assert [(e["actor"], e["user_id"], e["reason"], e["details"]) for e in after["entries"]] == [
        ("operator:audrey", None, "AUDIT-2026", {"filters": [], "entries": 2}),
        ("operator:audrey", anna, None, {"filters": ["user_id", "action"], "entries": 1}),
    ]


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 201}, {"before_id": 0}, {"user_id": 0}, {"since": "2026-01-01T00:00:00"}, {"actor": ""}],
)
async def test_a_malformed_query_is_422(auditor, params):
    response = await auditor.get("/internal/audit-log", params=params)

    assert response.status_code == 422
