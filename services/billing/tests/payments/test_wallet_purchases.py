"""Courses bought from the coins wallet, and purchases reversed by an operator."""

import asyncio

import pytest
from academy_billing.wallet import service as wallet

pytestmark = pytest.mark.integration


async def _fund(in_transaction, user_id, coins):
    await in_transaction(
        lambda s: wallet.credit(
            s, user_id=user_id, coins=coins, type="reward", reference=f"fund:{user_id}:{coins}", description="fund"
        )
    )


async def _buy(http, user_id, course_id, coins, key):
    return await http.post(
        f"/internal/learners/{user_id}/purchases",
        json={"course_id": course_id, "coins_price": coins},
        headers={"Idempotency-Key": key},
    )


async def test_a_course_is_bought_from_the_wallet_once_per_request(http, put_course, in_transaction, key, db, outbox):
    await put_course(601, "990.00")
    await _fund(in_transaction, 41, 1200)
    request_key = key()

    first = await _buy(http, 41, 601, 990, request_key)
    again = await _buy(http, 41, 601, 990, request_key)

    assert first.status_code == 200, first.text
    assert again.json() == first.json()
    assert (first.json()["coins"], first.json()["balance"], first.json()["created"]) == (990, 210, True)
    [purchase] = await db("purchases", user_id=41)
    assert (purchase.course_id, purchase.status, purchase.payment_id) == (601, "active", None)
    [bought] = await outbox("billing.course_purchased.v1")
    assert bought["data"]["amount"] == {"amount": "990.00", "currency": "RUB"}
    assert await outbox("billing.balance_low.v1") == []  # 1200 → 210 stays above the threshold of 100
    offer = (await http.get("/internal/learners/41/offers/601")).json()
    assert (offer["owned"], offer["missing_coins"]) == (True, 0)


async def test_too_few_coins_is_a_clear_409_and_changes_nothing(http, put_course, in_transaction, key, db):
    await put_course(602, "990.00")
    await _fund(in_transaction, 42, 500)

    response = await _buy(http, 42, 602, 990, key())

    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["details"]["balance"], error["details"]["requested"]) == (
        "insufficient_funds",
        500,
        990,
    )
    assert await db("purchases", user_id=42) == []
    assert (await http.get("/internal/wallets/42")).json()["coins"] == 500


async def test_a_price_that_changed_since_the_learner_saw_it_is_refused(http, put_course, in_transaction, key):
    await put_course(603, "990.00")
    await _fund(in_transaction, 43, 5000)
    await put_course(603, "1490.00")

    response = await _buy(http, 43, 603, 990, key())

    assert response.status_code == 409
    assert (response.json()["error"]["code"], response.json()["error"]["details"]) == (
        "price_changed",
        {"coins_price": 1490},
    )


async def test_two_concurrent_purchases_of_one_course_charge_once(http, put_course, in_transaction, key, db):
    await put_course(604, "300.00")
    await _fund(in_transaction, 44, 1000)

    answers = await asyncio.gather(*(_buy(http, 44, 604, 300, key()) for _ in range(5)))

    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409, 409, 409, 409]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"already_owned"}
    assert len(await db("purchases", user_id=44)) == 1
    assert (await http.get("/internal/wallets/44")).json()["coins"] == 700


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"course_id": 605, "coins_price": 0}, 422),
        ({"course_id": 605, "coins_price": -990}, 422),
        ({"course_id": 605, "coins_price": "много"}, 422),
        ({"course_id": 605}, 422),
        ({"course_id": 2**33, "coins_price": 990}, 422),
        ({"course_id": 999_999, "coins_price": 990}, 404),
        ({"course_id": 606, "coins_price": 990}, 409),  # archived: not on sale
    ],
)
async def test_bad_purchases_are_refused_and_change_nothing(http, put_course, in_transaction, key, db, body, status):
    await put_course(605, "990.00")
    await put_course(606, "990.00", active=False)
    await _fund(in_transaction, 45, 5000)

    response = await http.post("/internal/learners/45/purchases", json=body, headers={"Idempotency-Key": key()})

    assert response.status_code == status, response.text
    assert await db("purchases", user_id=45) == []
    assert (await http.get("/internal/wallets/45")).json()["coins"] == 5000


async def test_an_operator_reverses_a_wallet_purchase_once(http, operator, put_course, in_transaction, key, db, outbox):
    await put_course(607, "500.00")
    await _fund(in_transaction, 46, 600)
    purchase_id = (await _buy(http, 46, 607, 500, key())).json()["purchase_id"]
    refund_key = key()

    first = await operator.post(
        f"/internal/purchases/{purchase_id}/refund",
        json={"reason": "по просьбе ученицы"},
        headers={"Idempotency-Key": refund_key},
    )
    repeated = await operator.post(
        f"/internal/purchases/{purchase_id}/refund",
        json={"reason": "по просьбе ученицы"},
        headers={"Idempotency-Key": refund_key},
    )
    another = await operator.post(
        f"/internal/purchases/{purchase_id}/refund", json={"reason": "ещё раз"}, headers={"Idempotency-Key": key()}
    )
    by_a_learner_client = await http.post(
        f"/internal/purchases/{purchase_id}/refund", json={"reason": "сама себе"}, headers={"Idempotency-Key": key()}
    )

    assert first.status_code == 200, first.text
    assert repeated.json() == first.json()
    assert another.status_code == 409
    assert by_a_learner_client.status_code == 403
    assert (await http.get("/internal/wallets/46")).json()["coins"] == 600
    [purchase] = await db("purchases", user_id=46)
    assert purchase.status == "refunded"
    [reversed_] = await outbox("billing.purchase_refunded.v1")
    assert (reversed_["data"]["course_id"], reversed_["data"]["payment_id"]) == (607, None)
    again = await _buy(http, 46, 607, 500, key())  # a refunded course can be bought again
    assert again.status_code == 200


async def test_the_learner_can_turn_the_purchase_confirmation_off(http):
    changed = await http.put("/internal/wallets/47/settings", json={"confirm_purchases": False})

    assert changed.status_code == 200
    assert changed.json()["confirm_purchases"] is False
    assert (await http.get("/internal/wallets/47")).json()["confirm_purchases"] is False
    assert (await http.put("/internal/wallets/47/settings", json={"confirm_purchases": "maybe"})).status_code == 422


async def test_a_purchase_is_written_under_a_generic_plan_too(resources):
    # asyncpg re-uses prepared statements, and PostgreSQL plans one generically from its sixth run on:
    # the ON CONFLICT of a purchase must find its partial unique index then as well.
    from decimal import Decimal

    from academy_billing.payments.repository import PurchaseRepository
    from sqlalchemy import text

    async with resources.sessionmaker() as session, session.begin():
        await session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        repo = PurchaseRepository(session)
        spent = await wallet.credit(
            session, user_id=48, coins=10, type="reward", reference="r:48", description="for the test"
        )
        first = await repo.add_if_not_owned(
            user_id=48, course_id=608, wallet_transaction_id=spent.transaction.id, price=Decimal(10), currency="RUB"
        )
        second = await repo.add_if_not_owned(
            user_id=48, course_id=608, wallet_transaction_id=spent.transaction.id, price=Decimal(10), currency="RUB"
        )

    assert first is not None
    assert second is None
