"""Key rotation (issue 10): a new key becomes the active one, `academy-users reencrypt-personal-data` puts
every value under it and recomputes the phone lookups, and the old key can then go. And the migration
that encrypted the learners already there."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import secrets

import pytest
from academy_runtime.migrations import migrate
from academy_users.encryption import KeyRing, UndecryptableValueError, install_key_ring, installed_key_ring
from academy_users.models import AuditLog
from academy_users.privacy.rotation import reencrypt_personal_data
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from .test_registration import registration

pytestmark = pytest.mark.integration

LEARNERS = [
    {"full_name": "Анна Смирнова", "phone": "+79161234567", "username": "anna_nails"},
    {"full_name": "Борис Иванов", "phone": "+79031112233"},  # no username
    {"full_name": "Вера Петрова", "phone": "+74951234567", "username": "vera"},
]
ENCRYPTED = ("full_name", "phone", "username")


@pytest.fixture
def restore_key_ring(resources):
    """Whatever ring a test installs, the session's comes back afterwards."""
    ring = installed_key_ring()
    yield ring
    install_key_ring(ring)


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


async def _stored(resources) -> list[dict]:
    async with resources.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT id, full_name, phone, username, phone_lookup FROM users.users ORDER BY id")
        )
        return [dict(row._mapping) for row in rows]


async def _register_all(api) -> list[dict]:
    learners = []
    for n, fields in enumerate(LEARNERS):
        response = await api.post("/internal/users/register", json=registration(7000 + n, **fields))
        assert response.status_code == 200, response.text
        learners.append(response.json()["learner"])
    return learners


async def test_a_rotation_puts_every_value_under_the_new_key_and_the_old_one_can_go(
    api, service, resources, restore_key_ring
):
    learners = await _register_all(api)
    old = restore_key_ring
    new_key, new_lookup = secrets.token_bytes(32), secrets.token_bytes(32)
    # Step 1: the new key is added and made active; the old one stays for reading (and a new lookup key).
    settings = resources.settings.model_copy(
        update={
            "personal_data_keys": SecretStr(json.dumps({"run": _b64(old.keys["run"]), "next": _b64(new_key)})),
            "personal_data_key_id": "next",
            "phone_lookup_key": SecretStr(_b64(new_lookup)),
        }
    )
    rotated = settings.personal_data_key_ring()
    install_key_ring(rotated)
    assert all(row["full_name"].startswith("v1:run:") for row in await _stored(resources))
    assert (await api.get(f"/internal/users/{learners[0]['id']}")).json()["full_name"] == "Анна Смирнова"
    # A change made meanwhile is written under the new key already.
    await api.patch(f"/internal/users/{learners[1]['id']}", json={"full_name": "Борис Смирнов"})
    # A stored idempotent answer written under the old key (a retried registration replays it).
    install_key_ring(old)
    retried = registration(7009, full_name="Дарья Орлова", phone="+79035556677")
    first = await api.post("/internal/users/register", json=retried, headers={"idempotency-key": "reg-7009"})
    install_key_ring(rotated)

    # Step 2: the command, as `academy-users reencrypt-personal-data` runs it.
    command = service.commands["reencrypt-personal-data"]
    output = await command.run(dataclasses.replace(resources, settings=settings))

    # 8 values were stored (3 names, 3 phones, 2 usernames); the PATCH had rewritten one name already.
    assert output.startswith("4 learners examined: 9 values re-encrypted under key next, 4 phone lookups recomputed")
    assert "0 learners still hold values under another key" in output
    assert "1 stored idempotent answers re-encrypted, 0 still under another key" in output
    stored = await _stored(resources)
    for row in stored:
        for column in ENCRYPTED:
            assert row[column] is None or row[column].startswith("v1:next:"), (row["id"], column)
    phones = [fields["phone"] for fields in LEARNERS] + ["+79035556677"]
    assert [row["phone_lookup"] for row in stored] == [rotated.phone_lookup(phone) for phone in phones]
    async with resources.sessionmaker() as session:
        entry = (
            await session.execute(select(AuditLog).where(AuditLog.action == "personal_data_reencrypted"))
        ).scalar_one()
    assert (entry.actor, entry.user_id) == ("users:reencrypt-personal-data", None)
    assert entry.details == {
        "key_id": "next",
        "examined": 4,
        "values": 9,
        "lookups": 4,
        "remaining": 0,
        "answers": 1,
    }
    async with resources.engine.connect() as connection:
        answers = (await connection.execute(text("SELECT response FROM users.idempotency_keys"))).scalars().all()
    assert [answer[: len("v1:next:")] for answer in answers] == ["v1:next:"]

    # Step 3: the old key goes; everything reads the same, and support finds learners by the new lookup.
    install_key_ring(KeyRing(keys={"next": new_key}, active_key_id="next", lookup_key=new_lookup))
    expected = [learners[0], {**learners[1], "full_name": "Борис Смирнов"}, learners[2]]
    for learner in expected:
        now = (await api.get(f"/internal/users/{learner['id']}")).json()
        assert {name: now[name] for name in ENCRYPTED} == {name: learner[name] for name in ENCRYPTED}
    again_answer = await api.post("/internal/users/register", json=retried, headers={"idempotency-key": "reg-7009"})
    assert again_answer.json() == first.json()
    # Run again: nothing left to do.
    again = await reencrypt_personal_data(resources.sessionmaker, installed_key_ring())
    assert (again.examined, again.values_reencrypted, again.lookups_recomputed, again.remaining) == (4, 0, 0, 0)
    assert (again.answers_reencrypted, again.answers_remaining) == (0, 0)


async def test_a_learner_locked_while_it_runs_is_left_for_the_next_run(api, resources, restore_key_ring):
    learners = await _register_all(api)
    rotated = KeyRing(
        keys={**restore_key_ring.keys, "next": secrets.token_bytes(32)},
        active_key_id="next",
        lookup_key=restore_key_ring.lookup_key,
    )
    install_key_ring(rotated)

    async with resources.engine.connect() as locker:
        transaction = await locker.begin()
        await locker.execute(text("SELECT 1 FROM users.users WHERE id = :id FOR UPDATE"), {"id": learners[1]["id"]})
        report = await reencrypt_personal_data(resources.sessionmaker, rotated, batch_size=2)
        await transaction.rollback()

    assert (report.examined, report.values_reencrypted, report.lookups_recomputed, report.remaining) == (2, 6, 0, 1)
    assert "run the command again" in report.summary("next")
    report = await reencrypt_personal_data(resources.sessionmaker, rotated)
    assert (report.values_reencrypted, report.remaining) == (2, 0)


async def test_a_value_no_key_decrypts_stops_the_run_and_changes_nothing_of_its_batch(api, resources, restore_key_ring):
    learners = await _register_all(api)
    stranger = KeyRing(keys={"lost": secrets.token_bytes(32)}, active_key_id="lost", lookup_key=secrets.token_bytes(32))
    async with resources.engine.begin() as connection:
        await connection.execute(
            text("UPDATE users.users SET username = :value WHERE id = :id"),
            {"value": stranger.encrypt("ghost", column="users.users.username"), "id": learners[0]["id"]},
        )
    before = await _stored(resources)
    rotated = KeyRing(
        keys={**restore_key_ring.keys, "next": secrets.token_bytes(32)},
        active_key_id="next",
        lookup_key=restore_key_ring.lookup_key,
    )

    with pytest.raises(UndecryptableValueError, match="'lost'"):
        await reencrypt_personal_data(resources.sessionmaker, rotated)

    assert await _stored(resources) == before


# -- the migration ------------------------------------------------------------------------------------


async def test_the_migration_encrypts_the_learners_already_there_and_scrubs_the_audit_log(
    service, scratch_database_url, resources
):
    ring = installed_key_ring()  # the migration uses the process's ring, as the service's start-up would
    await asyncio.to_thread(migrate, service, "upgrade", "b3d5f7a9c1e2", database_url=scratch_database_url)
    engine = create_async_engine(scratch_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users.users (id, telegram_id, username, full_name, phone, city) VALUES "
                    "(1, 5001, 'anna_nails', 'Анна Смирнова', '+79161234567', 'Казань'), "
                    "(2, 5002, NULL, NULL, NULL, NULL)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO users.audit_log (user_id, actor, action, details) VALUES "
                    """(1, 'gateway-bot', 'registered', '{"telegram_id": 5001, "consent_version": "1"}'), """
                    """(1, 'gateway-bot', 'profile_updated', '{"fields": ["city"]}')"""
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO users.idempotency_keys (key, caller, fingerprint, status_code, response) VALUES "
                    """('a', 'gateway-bot', 'f', 200, '{"learner": {"id": 1}, "created": true}'), """
                    """('b', 'gateway-bot', 'f', 200, '{"id": 1, "full_name": "Анна Смирнова"}'), """
                    """('c', 'gateway-bot', 'f', 200, '{"something": "else"}')"""
                )
            )

        await asyncio.to_thread(migrate, service, "upgrade", "head", database_url=scratch_database_url)

        async with engine.connect() as connection:
            anna, empty = (
                await connection.execute(
                    text("SELECT full_name, phone, username, phone_lookup, city FROM users.users ORDER BY id")
                )
            ).all()
            details = (
                (await connection.execute(text("SELECT details FROM users.audit_log ORDER BY id"))).scalars().all()
            )
            subjects = (
                await connection.execute(text("SELECT key, subject FROM users.idempotency_keys ORDER BY key"))
            ).all()
        assert ring.decrypt(anna.full_name, column="users.users.full_name") == "Анна Смирнова"
        assert ring.decrypt(anna.phone, column="users.users.phone") == "+79161234567"
        assert ring.decrypt(anna.username, column="users.users.username") == "anna_nails"
        assert anna.phone_lookup == ring.phone_lookup("+79161234567")
        assert anna.city == "Казань"
        assert tuple(empty) == (None, None, None, None, None)
        assert list(details) == [{"consent_version": "1"}, {"fields": ["city"]}]
        assert [tuple(row) for row in subjects] == [("a", "user/1"), ("b", "user/1"), ("c", None)]
        # The answers stored in clear are encrypted (d7a1c3e5f9b2): the same JSON behind the ciphertext.
        async with engine.connect() as connection:
            answers = (
                await connection.execute(text("SELECT response FROM users.idempotency_keys ORDER BY key"))
            ).scalars()
            decrypted = [json.loads(ring.decrypt(a, column="users.idempotency_keys.response")) for a in answers]
        assert decrypted == [
            {"learner": {"id": 1}, "created": True},
            {"id": 1, "full_name": "Анна Смирнова"},
            {"something": "else"},
        ]

        # The downgrade decrypts again, with the same keys.
        await asyncio.to_thread(migrate, service, "downgrade", "b3d5f7a9c1e2", database_url=scratch_database_url)
        async with engine.connect() as connection:
            plain = (
                await connection.execute(text("SELECT full_name, phone, username FROM users.users WHERE id = 1"))
            ).one()
            answers = (
                await connection.execute(text("SELECT response FROM users.idempotency_keys ORDER BY key"))
            ).scalars()
            assert list(answers) == decrypted
        assert tuple(plain) == ("Анна Смирнова", "+79161234567", "anna_nails")
    finally:
        await engine.dispose()
