"""Personal data at rest (issue 10): names, phones and usernames are ciphertext in the table, plain text
through the API; a value that was changed or moved is refused loudly; the keys come from the settings,
and production refuses to start without real ones."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from academy_runtime.http import create_app
from academy_runtime.platform_cli import main as platform_main
from academy_runtime.testing import TestPlatform, api_client, service_token
from academy_users.encryption import (
    DEV_KEY_ID,
    KeyRing,
    PersonalDataKeyError,
    UndecryptableValueError,
    development_key_ring,
    installed_key_ring,
)
from academy_users.settings import UsersSettings
from pydantic import ValidationError
from sqlalchemy import text

from .test_registration import registration

pytestmark = pytest.mark.integration

ANNA = {"full_name": "Анна Смирнова", "phone": "+79161234567", "username": "anna_nails"}


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _ring(**keys: bytes) -> KeyRing:
    chosen = keys or {"k1": secrets.token_bytes(32)}
    return KeyRing(keys=chosen, active_key_id=next(iter(chosen)), lookup_key=secrets.token_bytes(32))


async def _stored(resources, user_id: int) -> dict[str, Any]:
    async with resources.engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT full_name, phone, username, phone_lookup, city FROM users.users WHERE id = :id"),
                {"id": user_id},
            )
        ).one()
    return dict(row._mapping)


# -- the cipher ---------------------------------------------------------------------------------------


def test_a_value_round_trips_and_names_its_key():
    ring = _ring()

    stored = ring.encrypt("Анна Смирнова", column="users.users.full_name")

    assert stored.startswith("v1:k1:")
    assert "Анна" not in stored
    assert ring.decrypt(stored, column="users.users.full_name") == "Анна Смирнова"
    # a fresh nonce each time: equal names do not give equal ciphertexts
    assert ring.encrypt("Анна Смирнова", column="users.users.full_name") != stored


def _flip(stored: str, index: int) -> str:
    """`stored` with one bit of its nonce, ciphertext or tag (byte `index` of the blob) changed."""
    prefix, blob = stored.rsplit(":", 1)
    data = bytearray(base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4)))
    data[index] ^= 0x01
    return f"{prefix}:{base64.urlsafe_b64encode(bytes(data)).rstrip(b'=').decode()}"


@pytest.mark.parametrize("index", [0, 11, 12, 20, -1], ids=["nonce", "nonce end", "ciphertext", "ciphertext+", "tag"])
def test_a_changed_byte_is_refused(index):
    ring = _ring()
    stored = ring.encrypt("+79161234567", column="users.users.phone")
    flipped = _flip(stored, index)
    assert flipped != stored

    with pytest.raises(UndecryptableValueError, match=r"users\.users\.phone") as refused:
        ring.decrypt(flipped, column="users.users.phone")
    assert "+7916" not in str(refused.value)


def test_a_value_moved_to_another_column_is_refused():
    ring = _ring()
    phone = ring.encrypt("+79161234567", column="users.users.phone")

    with pytest.raises(UndecryptableValueError, match="failed authentication"):
        ring.decrypt(phone, column="users.users.full_name")


def test_a_value_relabelled_with_another_key_id_is_refused():
    first, second = secrets.token_bytes(32), secrets.token_bytes(32)
    ring = KeyRing(keys={"k1": first, "k2": second}, active_key_id="k1", lookup_key=secrets.token_bytes(32))
    stored = ring.encrypt("Анна", column="users.users.full_name")

    with pytest.raises(UndecryptableValueError):
        ring.decrypt(stored.replace("v1:k1:", "v1:k2:"), column="users.users.full_name")
    with pytest.raises(UndecryptableValueError, match="'k3'"):
        ring.decrypt(stored.replace("v1:k1:", "v1:k3:"), column="users.users.full_name")
    with pytest.raises(UndecryptableValueError, match="format"):
        ring.decrypt("Анна Смирнова", column="users.users.full_name")  # plaintext is not a value either


def test_the_phone_lookup_is_keyed():
    ring, other = _ring(), _ring()

    digest = ring.phone_lookup("+79161234567")

    assert len(digest) == 64
    assert digest == ring.phone_lookup("+79161234567")
    assert digest != other.phone_lookup("+79161234567")  # another key: another digest
    assert digest != ring.phone_lookup("+79161234568")


@pytest.mark.parametrize(
    ("keys", "active", "lookup", "problem"),
    [
        ("not json", "", "", "PERSONAL_DATA_KEYS is not JSON"),
        ('["a"]', "", "", "PERSONAL_DATA_KEYS must be a JSON object"),
        ('{"k1": "%%%"}', "", "", r"PERSONAL_DATA_KEYS\['k1'\] is not base64"),
        ('{"k1": "AAAA"}', "", "", "AES-256 needs 32"),
        ('{"k:1": "KEY"}', "", "", "is not 1..32 letters"),
        ('{"k1": "KEY", "k2": "KEY"}', "", "", "PERSONAL_DATA_KEY_ID is empty"),
        ('{"k1": "KEY"}', "k2", "", "PERSONAL_DATA_KEY_ID 'k2' names no key"),
        ('{"k1": "KEY"}', "", "c2hvcnQ=", "PHONE_LOOKUP_KEY is shorter"),
    ],
)
def test_malformed_key_settings_are_refused_naming_the_setting(keys, active, lookup, problem):
    key = _key()
    with pytest.raises(PersonalDataKeyError, match=problem) as refused:
        KeyRing.from_texts(keys.replace("KEY", key), active, lookup or _key())
    assert key not in str(refused.value)


# -- the table and the API ----------------------------------------------------------------------------


async def test_the_table_holds_ciphertext_and_the_api_plain_text(api, resources):
    response = await api.post("/internal/users/register", json=registration(8001, **ANNA))
    user_id = response.json()["learner"]["id"]

    stored = await _stored(resources, user_id)
    for column in ("full_name", "phone", "username"):
        assert stored[column].startswith("v1:run:"), column
    stored_text = json.dumps(stored, ensure_ascii=False)
    for value in ("Анна", "Смирнова", "79161234567", "anna_nails"):
        assert value not in stored_text
    assert stored["phone_lookup"] == installed_key_ring().phone_lookup("+79161234567")
    assert stored["city"] == "Москва"  # the city is no secret (events carry it)
    learner = (await api.get(f"/internal/users/{user_id}")).json()
    assert {name: learner[name] for name in ANNA} == ANNA


async def test_stored_idempotent_answers_hold_no_personal_value_in_clear_and_replay_the_same(api, resources):
    body = registration(8_002_777_001, **ANNA)
    first = await api.post("/internal/users/register", json=body, headers={"idempotency-key": "reg-8002"})
    user_id = first.json()["learner"]["id"]
    changed = await api.patch(
        f"/internal/users/{user_id}", json={"full_name": "Анна Петрова"}, headers={"idempotency-key": "patch-8002"}
    )
    assert changed.status_code == 200, changed.text

    async with resources.engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT key, subject, response, response::text AS stored FROM users.idempotency_keys ORDER BY key")
            )
        ).all()
    assert [(row.key, row.subject) for row in rows] == [
        ("patch-8002", f"user/{user_id}"),
        ("reg-8002", f"user/{user_id}"),
    ]
    for row in rows:
        assert isinstance(row.response, str), row.key
        assert row.response.startswith("v1:run:"), row.key
        for value in ("Анна", "Смирнова", "Петрова", "79161234567", "anna_nails", "8002777001"):
            assert value not in row.stored, (row.key, value)
        assert installed_key_ring().decrypt(row.response, column="users.idempotency_keys.response")

    again = await api.post("/internal/users/register", json=body, headers={"idempotency-key": "reg-8002"})
    assert again.json() == first.json()
    patched_again = await api.patch(
        f"/internal/users/{user_id}", json={"full_name": "Анна Петрова"}, headers={"idempotency-key": "patch-8002"}
    )
    assert patched_again.json() == changed.json()


@contextlib.asynccontextmanager
async def _client(service, resources, platform) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway's client, answering a 500 as a client sees it (not raising the app's exception)."""
    app = create_app(service, resources.settings)
    app.state.resources = resources
    token = service_token(platform, caller="gateway-bot", audience="users")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://users",
        headers={"authorization": f"Bearer {token}"},
    ) as client:
        yield client


async def test_a_changed_value_is_refused_loudly_not_returned(api, service, resources, platform, caplog):
    user_id = (await api.post("/internal/users/register", json=registration(8002, **ANNA))).json()["learner"]["id"]
    tampered = _flip((await _stored(resources, user_id))["full_name"], 15)
    async with resources.engine.begin() as connection:
        await connection.execute(
            text("UPDATE users.users SET full_name = :value WHERE id = :id"), {"value": tampered, "id": user_id}
        )

    with caplog.at_level(logging.ERROR):
        async with _client(service, resources, platform) as client:
            response = await client.get(f"/internal/users/{user_id}")

    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "internal error"}}
    assert "users.users.full_name" in caplog.text
    assert "failed authentication" in caplog.text


async def test_a_value_moved_into_another_column_is_refused_loudly(api, service, resources, platform):
    user_id = (await api.post("/internal/users/register", json=registration(8003, **ANNA))).json()["learner"]["id"]
    other = (await api.post("/internal/users/register", json=registration(8004, **ANNA))).json()["learner"]["id"]
    async with resources.engine.begin() as connection:
        # the phone's ciphertext put where the name belongs: it authenticates only as a phone
        await connection.execute(text("UPDATE users.users SET full_name = phone WHERE id = :id"), {"id": user_id})

    async with _client(service, resources, platform) as client:
        assert (await client.get(f"/internal/users/{user_id}")).status_code == 500
        assert (await client.get(f"/internal/users/{other}")).json()["full_name"] == "Анна Смирнова"  # others unharmed


async def test_a_profile_change_writes_the_new_phone_and_its_lookup(api, resources):
    user_id = (await api.post("/internal/users/register", json=registration(8005, **ANNA))).json()["learner"]["id"]

    await api.patch(f"/internal/users/{user_id}", json={"phone": "+79030001122"})

    stored = await _stored(resources, user_id)
    assert stored["phone"].startswith("v1:run:")
    assert stored["phone_lookup"] == installed_key_ring().phone_lookup("+79030001122")


# -- keys from the settings ---------------------------------------------------------------------------


def _production(**values: Any) -> UsersSettings:
    from academy_runtime.testing import real_service_keys_env

    env = real_service_keys_env()
    base: dict[str, Any] = {
        "environment": "production",
        "service_signing_key": env["SERVICE_SIGNING_KEY"],
        "service_public_keys": json.loads(env["SERVICE_PUBLIC_KEYS"]),
        "operator_accounts": {},
        "database_url": f"postgresql+asyncpg://academy_users:{secrets.token_hex(16)}@postgres:5432/beauty_academy",
        "rabbitmq_url": f"amqp://academy-users:{secrets.token_hex(16)}@rabbitmq:5672/",
        "redis_url": f"redis://:{secrets.token_hex(16)}@redis:6379/0",
        "s3_access_key": secrets.token_hex(10).upper(),
        "s3_secret_key": secrets.token_urlsafe(30),
    }
    return UsersSettings(_env_file=None, **(base | values))  # type: ignore[call-arg]


def test_production_refuses_to_start_without_keys():
    with pytest.raises(ValidationError) as refused:
        _production()
    message = str(refused.value)
    assert "PERSONAL_DATA_KEYS and PHONE_LOOKUP_KEY are empty" in message
    assert "academy-platform keys personal-data" in message


def test_production_refuses_the_development_keys():
    dev = development_key_ring()
    # under another id than `dev` (which the placeholder rule refuses already): the key itself is known
    dev_keys = json.dumps({"k1": base64.b64encode(dev.keys[DEV_KEY_ID]).decode()})
    with pytest.raises(ValidationError, match="development key"):
        _production(personal_data_keys=dev_keys, phone_lookup_key=_key())
    with pytest.raises(ValidationError, match="development key"):
        _production(
            personal_data_keys=json.dumps({"k1": _key()}), phone_lookup_key=base64.b64encode(dev.lookup_key).decode()
        )


def test_production_refuses_a_malformed_key_naming_the_setting_not_the_key():
    key = _key()
    with pytest.raises(ValidationError) as refused:
        _production(personal_data_keys=json.dumps({"k1": key[:20]}), phone_lookup_key=_key())
    assert "PERSONAL_DATA_KEYS['k1']" in str(refused.value)
    assert key[:20] not in str(refused.value)


def test_production_starts_with_the_keys_the_platform_command_generates(tmp_path, capsys):
    platform_main(["keys", "personal-data", "--out", str(tmp_path)])
    capsys.readouterr()

    settings = _production(
        personal_data_keys=(tmp_path / "personal-data-keys.json").read_text(),
        personal_data_key_id=(tmp_path / "personal-data-key-id").read_text(),
        phone_lookup_key=(tmp_path / "phone-lookup.key").read_text(),
    )

    ring = settings.personal_data_key_ring()
    assert ring.active_key_id == (tmp_path / "personal-data-key-id").read_text()
    assert ring.decrypt(ring.encrypt("Анна", column="c"), column="c") == "Анна"


def test_development_without_keys_uses_the_development_keys(monkeypatch):
    for name in ("PERSONAL_DATA_KEYS", "PERSONAL_DATA_KEY_ID", "PHONE_LOOKUP_KEY", "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)

    ring = UsersSettings(_env_file=None).personal_data_key_ring()  # type: ignore[call-arg]

    assert ring == development_key_ring()
    assert ring.uses_development_keys()


async def test_the_service_reads_its_keys_at_start(service, platform: TestPlatform, resources):
    # The resources of the session were opened with the run's keys: the start-up hook installed them.
    assert installed_key_ring().active_key_id == "run"
    assert not installed_key_ring().uses_development_keys()
    async with api_client(service, resources, service_token(platform, caller="gateway-bot", audience="users")) as api:
        assert (await api.get("/internal/users/1")).status_code == 404
