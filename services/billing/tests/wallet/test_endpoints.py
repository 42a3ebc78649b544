from datetime import UTC, datetime

import pytest
from academy_billing.learners import service as learners
from academy_billing.models import WalletTransaction
from academy_billing.wallet import service
from academy_runtime.testing import service_token
from sqlalchemy import func, select

pytestmark = pytest.mark.integration


async def _credit(in_transaction, user_id, coins, reference):
    return await in_transaction(
        lambda s: service.credit(
            s, user_id=user_id, coins=coins, type="reward", reference=reference, description=f"credit {reference}"
        )
    )


async def _registered(in_transaction, user_id) -> None:
    """The learner as billing learns of a registration (`users.user_registered`): only then may it write."""
    await in_transaction(
        lambda s: learners.record_registered(s, user_id=user_id, registered_at=datetime.now(UTC), source="event")
    )


async def _transactions(resources, user_id) -> int:
    async with resources.sessionmaker() as session:
        return await session.scalar(
            select(func.count()).select_from(WalletTransaction).where(WalletTransaction.user_id == user_id)
        )


async def test_a_learner_without_a_wallet_has_zero_coins(api):
    response = await api.get("/internal/wallets/101")

    assert response.status_code == 200
    assert response.json() == {
        "user_id": 101,
        "coins": 0,
        "low_balance_threshold": 100,
        "is_low": True,
        "confirm_purchases": True,
        "updated_at": None,
    }


async def test_wallet_shows_the_balance(api, in_transaction):
    await _credit(in_transaction, 102, 250, "r:102:1")

    body = (await api.get("/internal/wallets/102")).json()

    assert body["coins"] == 250
    assert body["is_low"] is False
    assert body["updated_at"] is not None


async def test_history_is_newest_first_and_paginated_by_keyset(api, in_transaction):
    for n in range(5):
        await _credit(in_transaction, 103, 10 + n, f"r:103:{n}")
    await _credit(in_transaction, 104, 99, "r:104:other-learner")

    first = (await api.get("/internal/wallets/103/transactions", params={"limit": 2})).json()
    second = (
        await api.get("/internal/wallets/103/transactions", params={"limit": 2, "before_id": first["next_before_id"]})
    ).json()
    third = (
        await api.get("/internal/wallets/103/transactions", params={"limit": 2, "before_id": second["next_before_id"]})
    ).json()

    amounts = [[item["amount"] for item in page["items"]] for page in (first, second, third)]
    assert amounts == [[14, 13], [12, 11], [10]]
    assert third["next_before_id"] is None
    assert first["items"][0]["balance_after"] == 60
    assert {item["user_id"] for page in (first, second, third) for item in page["items"]} == {103}


async def test_history_of_a_learner_without_a_wallet_is_empty(api):
    assert (await api.get("/internal/wallets/105/transactions")).json() == {"items": [], "next_before_id": None}


async def test_one_transaction_is_found_only_under_its_own_learner(api, in_transaction):
    change = await _credit(in_transaction, 106, 5, "r:106:1")
    tx_id = change.transaction.id

    assert (await api.get(f"/internal/wallets/106/transactions/{tx_id}")).json()["reference"] == "r:106:1"
    other = await api.get(f"/internal/wallets/107/transactions/{tx_id}")
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
    assert (await api.get("/internal/wallets/106/transactions/999999")).status_code == 404


async def test_operator_credit_and_debit(operator_api, resources, in_transaction):
    await _registered(in_transaction, 108)
    credit = await operator_api.post(
        "/internal/wallets/108/adjustments",
        json={"delta": 300, "reason": "Компенсация за сбой"},
        headers={"idempotency-key": "adj-108-1"},
    )
    debit = await operator_api.post(
        "/internal/wallets/108/adjustments",
        json={"delta": -120, "reason": "Ошибочное начисление"},
        headers={"idempotency-key": "adj-108-2"},
    )

    assert credit.status_code == 200, credit.text
    assert credit.json()["applied"] is True
    assert credit.json()["balance"] == 300
    assert credit.json()["transaction"]["type"] == "adjustment"
    assert credit.json()["transaction"]["description"] == "Компенсация за сбой (operator:alice)"
    assert credit.json()["transaction"]["reference"] == "adjustment:operator:alice:adj-108-1"
    assert debit.json()["balance"] == 180
    assert debit.json()["transaction"]["amount"] == -120
    assert (await operator_api.get("/internal/wallets/108")).json()["coins"] == 180
    assert (await operator_api.get("/internal/wallets/108/audit")).json() == {
        "user_id": 108,
        "balance": 180,
        "ledger_sum": 180,
        "transactions": 2,
        "broken_links": 0,
        "consistent": True,
    }


async def test_a_retried_adjustment_returns_the_first_answer_and_moves_coins_once(
    operator_api, resources, in_transaction
):
    await _registered(in_transaction, 109)
    request = {"json": {"delta": 40, "reason": "bonus"}, "headers": {"idempotency-key": "adj-109"}}
    first = await operator_api.post("/internal/wallets/109/adjustments", **request)
    retry = await operator_api.post("/internal/wallets/109/adjustments", **request)

    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert await _transactions(resources, 109) == 1


async def test_an_idempotency_key_reused_for_another_adjustment_is_refused(operator_api, resources, in_transaction):
    await _registered(in_transaction, 110)
    await operator_api.post(
        "/internal/wallets/110/adjustments", json={"delta": 40, "reason": "bonus"}, headers={"idempotency-key": "k"}
    )
    reused = await operator_api.post(
        "/internal/wallets/110/adjustments", json={"delta": 41, "reason": "bonus"}, headers={"idempotency-key": "k"}
    )

    assert reused.status_code == 422
    assert "Idempotency-Key" in reused.json()["error"]["message"]
    assert await _transactions(resources, 110) == 1


async def test_a_debit_adjustment_beyond_the_balance_gets_409_and_can_be_retried_after_a_top_up(
    operator_api, resources, in_transaction
):
    await _registered(in_transaction, 111)
    await _credit(in_transaction, 111, 10, "r:111:1")
    request = {"json": {"delta": -50, "reason": "correction"}, "headers": {"idempotency-key": "adj-111"}}

    refused = await operator_api.post("/internal/wallets/111/adjustments", **request)

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "insufficient_funds"
    assert refused.json()["error"]["details"] == {"user_id": 111, "balance": 10, "requested": 50}
    assert await _transactions(resources, 111) == 1

    await _credit(in_transaction, 111, 100, "r:111:2")
    retried = await operator_api.post("/internal/wallets/111/adjustments", **request)
    assert retried.status_code == 200
    assert retried.json()["balance"] == 60


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/internal/wallets/1"),
        ("GET", "/internal/wallets/1/transactions"),
        ("GET", "/internal/wallets/1/transactions/1"),
        ("GET", "/internal/wallets/1/audit"),
        ("POST", "/internal/wallets/1/adjustments"),
    ],
)
@pytest.mark.parametrize("authorization", ["", "Bearer not-a-token"])
async def test_every_wallet_endpoint_requires_a_service_token(api, resources, method, path, authorization):
    response = await api.request(
        method,
        path,
        json={"delta": 5, "reason": "sneaky"} if method == "POST" else None,
        headers={"authorization": authorization, "idempotency-key": "x"},
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert await _transactions(resources, 1) == 0


async def test_a_token_meant_for_another_service_is_refused(api, platform):
    token = service_token(platform, caller="gateway-bot", audience="users")

    response = await api.get("/internal/wallets/1", headers={"authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert "not meant for billing" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/internal/wallets/0", {}, "path.user_id"),
        ("/internal/wallets/abc", {}, "path.user_id"),
        ("/internal/wallets/1/transactions", {"limit": 0}, "query.limit"),
        ("/internal/wallets/1/transactions", {"limit": 101}, "query.limit"),
        ("/internal/wallets/1/transactions", {"before_id": 0}, "query.before_id"),
        ("/internal/wallets/1/transactions/0", {}, "path.transaction_id"),
        # beyond the columns' ranges (user_id integer, transaction id bigint): 422, not asyncpg's 500
        ("/internal/wallets/3000000000/transactions", {}, "path.user_id"),
        ("/internal/wallets/1/transactions/9223372036854775808", {}, "path.transaction_id"),
        ("/internal/wallets/1/transactions", {"before_id": 2**63}, "query.before_id"),
    ],
)
async def test_invalid_queries_get_422_naming_the_field(api, path, params, field):
    response = await api.get(path, params=params)

    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["error"]["details"]]


@pytest.mark.parametrize(
    ("body", "headers", "field"),
    [
        ({"delta": 0, "reason": "nothing"}, {"idempotency-key": "v1"}, "body.delta"),
        ({"delta": 5, "reason": "  "}, {"idempotency-key": "v2"}, "body.reason"),
        ({"delta": 5}, {"idempotency-key": "v3"}, "body.reason"),
        ({"delta": 5, "reason": "ok reason", "coins": 5}, {"idempotency-key": "v4"}, "body.coins"),
        ({"delta": 10**10, "reason": "too much"}, {"idempotency-key": "v5"}, "body.delta"),
        ({"delta": 5, "reason": "no key"}, {}, "header.Idempotency-Key"),
    ],
)
async def test_invalid_adjustments_get_422_and_change_nothing(operator_api, resources, body, headers, field):
    response = await operator_api.post("/internal/wallets/112/adjustments", json=body, headers=headers)

    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    assert await _transactions(resources, 112) == 0


async def test_audit_of_a_learner_without_a_wallet_is_consistent(operator_api):
    body = (await operator_api.get("/internal/wallets/113/audit")).json()

    assert body["consistent"] is True
    assert body["balance"] == 0
