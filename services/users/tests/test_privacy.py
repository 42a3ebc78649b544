"""A learner's data: the export of everything held (152-ФЗ art. 14), the erasure when consent is withdrawn
(art. 9 §2, 21 §5), and support's look-up by phone (issue 10)."""

from __future__ import annotations

import json

import pytest
from academy_runtime.storage import object_storage
from academy_runtime.testing import api_client, operator_token
from academy_users.models import AuditLog, User, UserAvatar, messaging
from PIL import Image
from sqlalchemy import func, select, text

from .test_images import BLUE, RED, encoded
from .test_registration import register_learner, registration

pytestmark = pytest.mark.integration

ANNA = {"full_name": "Анна Смирнова", "phone": "+79161234567", "username": "anna_nails", "city": "Казань"}
TICKET = {"x-audit-reason": "SUP-1234"}


async def _audit(resources, user_id: int | None = None) -> list[AuditLog]:
    async with resources.sessionmaker() as session:
        stmt = select(AuditLog).order_by(AuditLog.id)
        if user_id is not None:
            stmt = stmt.where(AuditLog.user_id == user_id)
        return list((await session.execute(stmt)).scalars())


async def _outbox(resources) -> list[dict]:
    async with resources.sessionmaker() as session:
        rows = await session.execute(select(messaging.outbox.c.payload).order_by(messaging.outbox.c.id))
        return list(rows.scalars())


async def _idempotency_records(resources) -> list[tuple[str, str | None]]:
    table = messaging.idempotency.table
    async with resources.sessionmaker() as session:
        rows = await session.execute(select(table.c.key, table.c.subject).order_by(table.c.key))
        return [(row.key, row.subject) for row in rows]


# -- export -------------------------------------------------------------------------------------------


async def test_the_export_holds_the_profile_avatars_and_what_was_done_by_whom(api, support, resources):
    user_id = await register_learner(api, 9001, **ANNA)
    await support.get(f"/internal/users/{user_id}", headers=TICKET)
    await api.patch(f"/internal/users/{user_id}", json={"city": "Москва"})

    response = await api.get(f"/internal/users/{user_id}/personal-data")

    assert response.status_code == 200, response.text
    export = response.json()
    assert export["user_id"] == user_id
    profile = export["profile"]
    assert {name: profile[name] for name in ("full_name", "phone", "username")} == {
        "full_name": "Анна Смирнова",
        "phone": "+79161234567",
        "username": "anna_nails",
    }
    assert (profile["display_name"], profile["city"], profile["telegram_id"]) == ("Анна С.", "Москва", 9001)
    assert (profile["consent_personal_data"], profile["consent_version"]) == (True, "2026-11-01")
    assert profile["consent_at"].startswith("2026-11-20T07:00:00")
    assert export["avatars"] == []
    assert [(e["actor"], e["action"], e["reason"]) for e in export["audit_log"]] == [
        ("gateway-bot", "registered", "learner_request"),
        ("operator:olga", "profile_read", "SUP-1234"),
        ("gateway-bot", "profile_updated", "learner_request"),
        ("gateway-bot", "exported", "learner_request"),
    ]
    # The export is the learner's: nothing of another learner, no key material, no ciphertext.
    assert "v1:" not in json.dumps(export)


async def test_an_operator_exports_with_a_reason_and_is_named(api, support, resources):
    user_id = await register_learner(api, 9002, **ANNA)

    without = await support.get(f"/internal/users/{user_id}/personal-data")
    exported = await support.get(f"/internal/users/{user_id}/personal-data", headers=TICKET)

    assert without.status_code == 422
    assert without.json()["error"]["code"] == "audit_reason_required"
    assert exported.status_code == 200
    [entry] = [e for e in await _audit(resources, user_id) if e.action == "exported"]
    assert (entry.actor, entry.reason) == ("operator:olga", "SUP-1234")
    assert entry.details == {"sections": ["profile", "avatars", "audit_log"], "avatars": 0}


async def test_the_export_of_an_unknown_learner_is_404(api):
    response = await api.get("/internal/users/999999/personal-data")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "learner_not_found"


# -- erasure ------------------------------------------------------------------------------------------


async def test_erasure_removes_the_learner_and_everything_that_holds_their_data(api, resources):
    user_id = await register_learner(api, 9101, **ANNA)
    await api.post(
        "/internal/users/register", json=registration(9101, **ANNA), headers={"idempotency-key": "tg:1:1:register"}
    )
    await api.patch(f"/internal/users/{user_id}", json={"city": "Омск"}, headers={"idempotency-key": "tg:1:2:city"})
    other = await register_learner(api, 9102, full_name="Борис Иванов", phone="+79031112233")
    await api.patch(f"/internal/users/{other}", json={"city": "Омск"}, headers={"idempotency-key": "tg:1:3:city"})
    assert {subject for _, subject in await _idempotency_records(resources)} == {f"user/{user_id}", f"user/{other}"}

    response = await api.post(f"/internal/users/{user_id}/erasure", json={"reason": "consent_withdrawn"})

    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == user_id
    async with resources.sessionmaker() as session:
        assert await session.get(User, user_id) is None
        assert await session.get(User, other) is not None
    # The outbox keeps no event about them but the erasure itself, which carries their id only.
    about_them = [p for p in await _outbox(resources) if p["subject"] == f"user/{user_id}"]
    assert [p["type"] for p in about_them] == ["users.user_erased.v2"]
    assert about_them[0]["data"] == {"user_id": user_id, "erased_at": about_them[0]["data"]["erased_at"]}
    assert {p["subject"] for p in await _outbox(resources)} == {f"user/{user_id}", f"user/{other}"}
    # The stored answers that held their profile are gone; the other learner's stay.
    assert await _idempotency_records(resources) == [("tg:1:3:city", f"user/{other}")]
    # The audit log says it happened, why and by whom, and holds no value of theirs.
    erased = (await _audit(resources, user_id))[-1]
    assert (erased.actor, erased.action, erased.reason) == ("gateway-bot", "erased", "consent_withdrawn")
    assert erased.details == {"grounds": "consent_withdrawn", "avatars": 0, "outbox_rows": 2, "idempotency_records": 2}
    async with resources.engine.connect() as connection:
        dump = (await connection.execute(text("SELECT json_agg(a)::text FROM users.audit_log a"))).scalar_one()
    for value in ("Анна", "Смирнова", "79161234567", "anna_nails", "9101"):
        assert value not in dump


async def test_the_export_lists_the_avatars_and_the_erasure_deletes_them_everywhere(api, resources):
    user_id = await register_learner(api, 9110, **ANNA)
    other = await register_learner(api, 9111, phone="+79031112233")
    storage = object_storage(resources)
    await storage.remove_prefix("avatars/")  # ids start at 1 again in every test
    first, second, kept = await _avatar(api, user_id, RED), await _avatar(api, user_id, BLUE), await _avatar(api, other)

    export = (await api.get(f"/internal/users/{user_id}/personal-data")).json()
    assert [(a["id"], a["is_current"]) for a in export["avatars"]] == [(second["id"], True), (first["id"], False)]
    assert await _object_keys(storage, user_id)

    erased = await api.post(f"/internal/users/{user_id}/erasure", json={"reason": "consent_withdrawn"})

    assert erased.status_code == 200, erased.text
    assert await _object_keys(storage, user_id) == []
    assert len(await _object_keys(storage, other)) == 3  # another learner's avatar stays
    async with resources.sessionmaker() as session:
        assert await session.get(UserAvatar, first["id"]) is None
        assert await session.get(UserAvatar, kept["id"]) is not None
    assert (await _audit(resources, user_id))[-1].details["avatars"] == 2
    # The avatar events about them went with the rest of their outbox rows.
    assert [p["type"] for p in await _outbox(resources) if p["subject"] == f"user/{user_id}"] == [
        "users.user_erased.v2"
    ]


async def _avatar(api, user_id: int, colour: tuple[int, int, int] = RED) -> dict:
    image = encoded(Image.new("RGB", (64, 64), colour), "PNG")
    response = await api.post(
        f"/internal/users/{user_id}/avatars", content=image, headers={"content-type": "image/png"}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _object_keys(storage, user_id: int) -> list[str]:
    await storage.ensure_bucket()
    listed = storage.client.list_objects(storage.bucket, prefix=f"avatars/{user_id}/", recursive=True)
    return sorted([obj.object_name async for obj in listed if obj.object_name])


async def test_a_second_erasure_is_404_and_a_new_registration_starts_fresh(api, resources):
    user_id = await register_learner(api, 9103, **ANNA)
    key = {"idempotency-key": "tg:1:9:register"}
    first_answer = await api.post("/internal/users/register", json=registration(9103, **ANNA), headers=key)
    assert first_answer.json()["learner"]["id"] == user_id

    erasure = {"reason": "consent_withdrawn"}
    assert (await api.post(f"/internal/users/{user_id}/erasure", json=erasure)).status_code == 200
    again = await api.post(f"/internal/users/{user_id}/erasure", json=erasure)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "learner_not_found"
    assert (await api.get(f"/internal/users/{user_id}")).status_code == 404

    # The same Telegram account registers again: a new learner, nothing of the old one (not even the
    # answer stored under the old idempotency key, which was erased with them).
    fresh = await api.post(
        "/internal/users/register", json=registration(9103, full_name="Анна Петрова", city="Омск"), headers=key
    )
    assert fresh.status_code == 200, fresh.text
    learner = fresh.json()["learner"]
    assert learner["id"] != user_id
    assert (fresh.json()["created"], learner["full_name"], learner["revision"]) == (True, "Анна Петрова", 1)
    assert [e.action for e in await _audit(resources, learner["id"])] == ["registered"]


async def test_an_operator_erases_with_a_ticket(api, support, resources):
    user_id = await register_learner(api, 9104, **ANNA)

    without = await support.post(f"/internal/users/{user_id}/erasure", json={"reason": "operator_request"})
    erased = await support.post(
        f"/internal/users/{user_id}/erasure", json={"reason": "operator_request"}, headers=TICKET
    )

    assert without.status_code == 422
    assert erased.status_code == 200
    entry = (await _audit(resources, user_id))[-1]
    assert (entry.actor, entry.action, entry.reason, entry.details["grounds"]) == (
        "operator:olga",
        "erased",
        "SUP-1234",
        "operator_request",
    )


@pytest.mark.parametrize("body", [{}, {"reason": "bored"}, {"reason": "consent_withdrawn", "note": "x"}])
async def test_an_erasure_without_known_grounds_is_refused(api, resources, body):
    user_id = await register_learner(api, 9105, **ANNA)

    response = await api.post(f"/internal/users/{user_id}/erasure", json=body)

    assert response.status_code == 422
    async with resources.sessionmaker() as session:
        assert await session.get(User, user_id) is not None


async def test_only_the_gateway_and_support_erase(api, service, resources, platform):
    user_id = await register_learner(api, 9106, **ANNA)
    for roles in (("finance",), ("auditor",), ("catalog-editor",)):
        token = operator_token(platform, name="mallory", roles=roles, audience="users")
        async with api_client(service, resources, token) as other:
            response = await other.post(
                f"/internal/users/{user_id}/erasure", json={"reason": "operator_request"}, headers=TICKET
            )
        assert response.status_code == 403
    async with resources.sessionmaker() as session:
        assert await session.get(User, user_id) is not None


# -- support's look-up by phone -----------------------------------------------------------------------


async def test_support_finds_a_learner_by_phone_and_the_search_is_audited(api, support, resources):
    user_id = await register_learner(api, 9201, **ANNA)
    await register_learner(api, 9202, phone="+79031112233")

    found = await support.post("/internal/users/lookup-by-phone", json={"phone": "+79161234567"}, headers=TICKET)
    missed = await support.post("/internal/users/lookup-by-phone", json={"phone": "+79990001122"}, headers=TICKET)

    assert found.status_code == 200, found.text
    assert [(learner["id"], learner["full_name"]) for learner in found.json()["learners"]] == [
        (user_id, "Анна Смирнова")
    ]
    assert missed.json() == {"learners": []}
    entries = [(e.user_id, e.actor, e.action, e.reason, e.details) for e in await _audit(resources)]
    assert (user_id, "operator:olga", "profile_read", "SUP-1234", {"via": "phone"}) in entries
    assert (None, "operator:olga", "phone_lookup", "SUP-1234", {"found": 0}) in entries
    # the phone itself is in no audit entry
    assert "79990001122" not in str(entries)


async def test_the_phone_lookup_needs_support_and_a_reason(api, support, service, resources, platform):
    await register_learner(api, 9203, **ANNA)

    by_gateway = await api.post("/internal/users/lookup-by-phone", json={"phone": "+79161234567"}, headers=TICKET)
    without_reason = await support.post("/internal/users/lookup-by-phone", json={"phone": "+79161234567"})
    token = operator_token(platform, name="audrey", roles=("auditor",), audience="users")
    async with api_client(service, resources, token) as auditor:
        by_auditor = await auditor.post(
            "/internal/users/lookup-by-phone", json={"phone": "+79161234567"}, headers=TICKET
        )

    assert (by_gateway.status_code, without_reason.status_code, by_auditor.status_code) == (403, 422, 403)
    async with resources.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(AuditLog))).scalar_one() == 1  # registered
