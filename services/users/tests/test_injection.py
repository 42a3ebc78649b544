"""Injection payloads (issue 9) in every text input of the users API: names, cities, usernames, the consent
version, the time zone, path ids and the Idempotency-Key. Never a 5xx; an accepted text is stored and returned
verbatim (names, cities and usernames are one line: control and format characters are refused); no other
learner changes; every table is still there."""

import pytest
from academy_runtime.injection_tests import (
    HEADER_INJECTION,
    PATH_PAYLOADS,
    PAYLOADS,
    accepted,
    assert_not_server_error,
    assert_tables_intact,
    fits,
    mismatches,
    quoted,
    refused_as_input,
    table_counts,
)

pytestmark = pytest.mark.integration

CONSENT = {"version": "2026-11-01", "accepted_at": "2026-11-20T10:00:00+03:00"}
GROWING = ("users", "audit_log", "outbox", "idempotency_keys")


def registration(telegram_id: int, **fields: object) -> dict[str, object]:
    return {
        "telegram_id": telegram_id,
        "locale": "ru",
        "full_name": "Анна Смирнова",
        "phone": "+79161234567",
        "city": "Москва",
        "consent": CONSENT,
    } | fields


async def _sentinel(api) -> dict[str, object]:
    response = await api.post("/internal/users/register", json=registration(777, username="sentinel"))
    assert response.status_code == 200, response.text
    return response.json()["learner"]


async def _unchanged(api, sentinel: dict[str, object]) -> None:
    now = await api.get(f"/internal/users/{sentinel['id']}")
    assert now.status_code == 200
    assert now.json() == sentinel, "another learner changed"


LIMITS = {"full_name": (2, 100), "city": (2, 100), "username": (0, 255)}


@pytest.mark.parametrize("field", ["full_name", "city", "username"])
async def test_registration_stores_any_text_verbatim(api, resources, service, field):
    sentinel = await _sentinel(api)
    before = await table_counts(resources, service)
    registered = 0
    wrong: list[str] = []
    for n, (name, text) in enumerate(PAYLOADS.items()):
        response = await api.post("/internal/users/register", json=registration(10_000 + n, **{field: text}))
        assert_not_server_error(response, f"{field}={name}")
        if not accepted(response):
            refused_as_input(response, f"{field}={name}")
            # One line of text: a control or format character (a newline, U+202E) is refused too.
            assert not fits(text, *LIMITS[field], one_line=True), f"{field}={name} refused: {response.text[:300]}"
            continue
        registered += 1
        learner = response.json()["learner"]
        wrong += [f"{name}: {m}" for m in mismatches({field: text}, learner)]
        again = await api.get(f"/internal/users/by-telegram/{10_000 + n}")
        assert again.status_code == 200
        wrong += [f"{name} (read back): {m}" for m in mismatches({field: text}, again.json())]
    assert not wrong, "\n".join(wrong)
    after = await assert_tables_intact(resources, service, before, may_grow=GROWING)
    assert after["users.users"] == before["users.users"] + registered
    await _unchanged(api, sentinel)


@pytest.mark.parametrize("field", ["time_zone", "phone", "locale"])
async def test_coded_fields_refuse_payloads_with_a_422(api, resources, service, field):
    before = await table_counts(resources, service)
    for n, (name, text) in enumerate(PAYLOADS.items()):
        response = await api.post("/internal/users/register", json=registration(20_000 + n, **{field: text}))
        assert response.status_code == 422, f"{field}={name}: {response.status_code} {response.text[:300]}"
    await assert_tables_intact(resources, service, before)


async def test_consent_version_is_stored_verbatim(api, resources, service):
    wrong = []
    for n, (name, text) in enumerate(PAYLOADS.items()):
        consent = {**CONSENT, "version": text}
        response = await api.post("/internal/users/register", json=registration(30_000 + n, consent=consent))
        assert_not_server_error(response, f"consent.version={name}")
        if accepted(response):
            wrong += [f"{name}: {m}" for m in mismatches({"consent_version": text}, response.json()["learner"])]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("field", ["full_name", "city"])
async def test_profile_changes_store_any_text_verbatim_and_touch_no_one_else(api, resources, service, field):
    sentinel = await _sentinel(api)
    learner = (await api.post("/internal/users/register", json=registration(40_000))).json()["learner"]
    before = await table_counts(resources, service)
    wrong = []
    for name, text in PAYLOADS.items():
        response = await api.patch(f"/internal/users/{learner['id']}", json={field: text})
        assert_not_server_error(response, f"PATCH {field}={name}")
        if not accepted(response):
            refused_as_input(response, f"PATCH {field}={name}")
            assert not fits(text, *LIMITS[field], one_line=True), f"PATCH {field}={name} refused: {response.text[:300]}"
            continue
        wrong += [f"{name}: {m}" for m in mismatches({field: text}, response.json())]
        stored = (await api.get(f"/internal/users/{learner['id']}")).json()
        wrong += [f"{name} (read back): {m}" for m in mismatches({field: text}, stored)]
    assert not wrong, "\n".join(wrong)
    await assert_tables_intact(resources, service, before, may_grow=("audit_log", "outbox", "idempotency_keys"))
    await _unchanged(api, sentinel)


async def test_path_ids_refuse_payloads(api, operator_api, resources, service):
    sentinel = await _sentinel(api)
    before = await table_counts(resources, service)
    for name, text in PATH_PAYLOADS.items():
        segment = quoted(text)
        for client in (api, operator_api):
            for path in (f"/internal/users/{segment}", f"/internal/users/by-telegram/{segment}"):
                refused_as_input(await client.get(path), f"GET {path} ({name})")
        patched = await api.patch(f"/internal/users/{segment}", json={"full_name": "Мария Иванова"})
        refused_as_input(patched, f"PATCH ({name})")
    # Unencoded traversal: the client resolves it to another path, which is not found.
    refused_as_input(await api.get("/internal/users/../../etc/passwd"), "GET ../../etc/passwd")
    await assert_tables_intact(resources, service, before)
    await _unchanged(api, sentinel)


async def test_idempotency_keys_are_opaque_text(api, resources, service):
    before = await table_counts(resources, service)
    seen: dict[str, int] = {}
    for n, (name, text) in enumerate(PAYLOADS.items()):
        body = registration(50_000 + n)
        first = await api.post("/internal/users/register", json=body, headers={"idempotency-key": text.encode()})
        assert_not_server_error(first, f"Idempotency-Key={name}")
        if not accepted(first):
            refused_as_input(first, f"Idempotency-Key={name}")
            continue
        # The same key again is the same answer, not a second effect; another payload with it is refused.
        replay = await api.post("/internal/users/register", json=body, headers={"idempotency-key": text.encode()})
        assert replay.json() == first.json(), name
        other = await api.post(
            "/internal/users/register", json=registration(60_000 + n), headers={"idempotency-key": text.encode()}
        )
        refused_as_input(other, f"Idempotency-Key={name} reused")
        seen[name] = first.json()["learner"]["id"]
    assert len(set(seen.values())) == len(seen)
    assert "long" not in seen  # over the key's limit: 422
    assert set(PAYLOADS) - set(seen) <= {"long", "crlf_inside"}, sorted(set(PAYLOADS) - set(seen))
    after = await assert_tables_intact(resources, service, before, may_grow=GROWING)
    assert after["users.users"] == before["users.users"] + len(seen)


async def test_a_header_injected_through_the_idempotency_key_is_refused(api, resources, service):
    before = await table_counts(resources, service)
    response = await api.post(
        "/internal/users/register", json=registration(70_000), headers={"idempotency-key": HEADER_INJECTION.encode()}
    )
    assert_not_server_error(response, "Idempotency-Key with CR LF")
    await assert_tables_intact(resources, service, before, may_grow=GROWING)
