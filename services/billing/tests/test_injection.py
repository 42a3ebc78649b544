"""Injection payloads (issue 9) in the billing API's inputs: an adjustment's reason and Idempotency-Key (both
end up in the ledger), the Stars payloads and charge ids, refund reasons, query parameters and path ids. Never
a 5xx; the ledger holds the reason verbatim; no other wallet changes; every table is still there."""

from datetime import UTC, datetime

import pytest
from academy_billing.learners import service as learners
from academy_runtime.injection_tests import (
    HEADER_INJECTION,
    PATH_PAYLOADS,
    PAYLOADS,
    accepted,
    assert_not_server_error,
    assert_tables_intact,
    quoted,
    refused_as_input,
    table_counts,
)

pytestmark = pytest.mark.integration

LEDGER = ("wallets", "wallet_transactions", "outbox", "idempotency_keys")


@pytest.fixture(autouse=True)
async def _learners_registered(in_transaction):
    """Learners 1..3 registered (as `users.user_registered` tells billing): writes are for them only."""
    for user_id in (1, 2, 3):
        await in_transaction(
            lambda s, user_id=user_id: learners.record_registered(
                s, user_id=user_id, registered_at=datetime.now(UTC), source="event"
            )
        )


async def _credit(operator_api, user_id: int, key: str) -> dict:
    response = await operator_api.post(
        f"/internal/wallets/{user_id}/adjustments",
        json={"delta": 100, "reason": "Стартовый бонус"},
        headers={"idempotency-key": key},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_adjustment_reasons_are_kept_verbatim(operator_api, resources, service):
    await _credit(operator_api, 2, "other-wallet")
    other = (await operator_api.get("/internal/wallets/2")).json()
    before = await table_counts(resources, service)
    applied, wrong = 0, []
    for n, (name, text) in enumerate(PAYLOADS.items()):
        response = await operator_api.post(
            "/internal/wallets/1/adjustments", json={"delta": 1, "reason": text}, headers={"idempotency-key": f"r{n}"}
        )
        assert_not_server_error(response, f"reason={name}")
        if not accepted(response):
            assert not 3 <= len(text) <= 300, f"reason={name} refused: {response.text[:300]}"
            continue
        applied += 1
        description = response.json()["transaction"]["description"]
        if description != f"{text} (operator:alice)":
            wrong.append(f"{name}: {description!r:.100}")
    assert not wrong, "\n".join(wrong)
    history = (await operator_api.get("/internal/wallets/1/transactions", params={"limit": 100})).json()["items"]
    assert len(history) == applied
    assert (await operator_api.get("/internal/wallets/1")).json()["coins"] == applied
    assert (await operator_api.get("/internal/wallets/2")).json() == other, "another wallet changed"
    assert (await operator_api.get("/internal/wallets/1/audit")).json()["consistent"] is True
    await assert_tables_intact(resources, service, before, may_grow=LEDGER)


async def test_idempotency_keys_are_opaque_text_in_the_ledger(operator_api, resources, service):
    before = await table_counts(resources, service)
    applied = 0
    for name, text in [*PAYLOADS.items(), ("header_injection", HEADER_INJECTION)]:
        request = {"json": {"delta": 1, "reason": "Бонус"}, "headers": {"idempotency-key": text.encode()}}
        first = await operator_api.post("/internal/wallets/3/adjustments", **request)
        assert_not_server_error(first, f"Idempotency-Key={name}")
        if not accepted(first):
            refused_as_input(first, f"Idempotency-Key={name}")
            continue
        applied += 1
        replay = await operator_api.post("/internal/wallets/3/adjustments", **request)
        assert replay.json() == first.json(), name
        # The key is in the ledger's reference as the server read it (a header is Latin-1 text).
        received = text.encode().decode("latin-1")
        assert first.json()["transaction"]["reference"] == f"adjustment:operator:alice:{received}", name
    assert applied >= len(PAYLOADS) - 2
    assert (await operator_api.get("/internal/wallets/3")).json()["coins"] == applied
    await assert_tables_intact(resources, service, before, may_grow=LEDGER)


async def test_stars_and_refund_texts_never_make_a_server_error(api, operator_api, resources, service):
    before = await table_counts(resources, service)
    for name, text in PAYLOADS.items():
        check = {"payload": text, "user_id": 1, "currency": "XTR", "total_amount": 10}
        answer = await api.post("/internal/stars/pre-checkout", json=check)
        assert_not_server_error(answer, f"pre-checkout payload={name}")
        if accepted(answer):
            assert answer.json()["ok"] is False, f"pre-checkout payload={name} was accepted"
        refused_as_input(
            await api.post("/internal/stars/pre-checkout", json={**check, "payload": "x", "currency": text}),
            f"pre-checkout currency={name}",
        )
        paid = {
            "payload": text,
            "user_id": 1,
            "telegram_user_id": 5001,
            "currency": "XTR",
            "total_amount": 10,
            "telegram_payment_charge_id": text,
            "provider_payment_charge_id": text,
        }
        refused_as_input(await api.post("/internal/stars/payments", json=paid), f"stars payment={name}")
        headers = {"idempotency-key": f"refund-{name}"}
        for path in ("/internal/payments/1/refunds", "/internal/purchases/1/refund"):
            refund = await operator_api.post(path, json={"reason": text}, headers=headers)
            refused_as_input(refund, f"{path} reason={name}")
    await assert_tables_intact(resources, service, before)


async def test_query_and_path_payloads_are_refused(api, operator_api, resources, service):
    await _credit(operator_api, 4, "path-wallet")
    wallet = (await operator_api.get("/internal/wallets/4")).json()
    before = await table_counts(resources, service)
    for name, text in PAYLOADS.items():
        for path, param in (
            ("/internal/wallets/4/transactions", "limit"),
            ("/internal/wallets/4/transactions", "before_id"),
            ("/internal/learners/4/payments", "before_id"),
            ("/internal/learners/4/stars-invoices", "locale"),
        ):
            method = "POST" if path.endswith("invoices") else "GET"
            body = {"purpose": "top_up", "stars": 50} if method == "POST" else None
            response = await api.request(
                method, path, params={param: text}, json=body, headers={"idempotency-key": f"q-{name}"}
            )
            refused_as_input(response, f"{path}?{param}={name}")
    for name, text in PATH_PAYLOADS.items():
        s = quoted(text)
        for client, method, path in (
            (api, "GET", f"/internal/wallets/{s}"),
            (api, "GET", f"/internal/wallets/{s}/transactions"),
            (api, "GET", f"/internal/wallets/4/transactions/{s}"),
            (operator_api, "GET", f"/internal/wallets/{s}/audit"),
            (api, "PUT", f"/internal/wallets/{s}/settings"),
            (api, "GET", f"/internal/learners/{s}/offers/1"),
            (api, "GET", f"/internal/learners/4/offers/{s}"),
            (api, "GET", f"/internal/learners/{s}/purchases"),
            (api, "GET", f"/internal/learners/{s}/payments"),
            (api, "GET", f"/internal/learners/4/payments/{s}"),
            (operator_api, "GET", f"/internal/payments/{s}"),
            (operator_api, "GET", f"/internal/payments/{s}/refunds"),
            (operator_api, "POST", f"/internal/wallets/{s}/adjustments"),
        ):
            body = {"delta": 1, "reason": "Бонус"} if path.endswith("adjustments") else None
            if path.endswith("settings"):
                body = {"confirm_purchases": False}
            response = await client.request(method, path, json=body, headers={"idempotency-key": f"p-{name}"})
            refused_as_input(response, f"{method} {path} ({name})")
    refused_as_input(await api.get("/internal/wallets/../../etc/passwd"), "GET ../../etc/passwd")
    assert (await operator_api.get("/internal/wallets/4")).json() == wallet
    await assert_tables_intact(resources, service, before)
