"""YooKassa top-ups: created with an Idempotence-Key and a 54-ФЗ receipt, credited only from the payment as
the API shows it, whatever the notifications do (repeated, reordered, lost, forged, early)."""

import asyncio
from decimal import Decimal

import httpx
import pytest
from academy_billing.payments import service
from academy_billing.payments.repository import PaymentRepository
from academy_billing.payments.service import reconcile_once, settle_yookassa_payment

pytestmark = pytest.mark.integration

LEARNER_PHONE_DIGITS = "79161234567"


async def _top_up(http, user_id, amount, key):
    return await http.post(
        f"/internal/learners/{user_id}/top-ups", json={"amount_rub": amount}, headers={"Idempotency-Key": key}
    )


async def _coins(http, user_id):
    return (await http.get(f"/internal/wallets/{user_id}")).json()["coins"]


async def _until(check, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not reached in time")
        await asyncio.sleep(0.05)


async def test_a_top_up_is_created_with_a_receipt_and_credited_after_the_learner_pays(http, yk, key, db, outbox):
    request_key = key()
    response = await _top_up(http, 21, 500, request_key)
    again = await _top_up(http, 21, 500, request_key)

    assert response.status_code == 200, response.text
    body = response.json()
    assert again.json() == body
    assert (body["status"], body["amount"], body["currency"], body["coins"]) == ("pending", "500.00", "RUB", 500)
    created = await yk.payment(body["external_id"])
    assert created.capture is True
    assert created.metadata["payment_id"] == str(body["payment_id"] if "payment_id" in body else body["id"])
    assert created.receipt["customer"]["phone"] == LEARNER_PHONE_DIGITS
    [item] = created.receipt["items"]
    assert (item["amount"]["value"], item["vat_code"]) == ("500.00", 1)
    assert created.idempotence_key == (await db("payments", user_id=21))[0].idempotence_key
    assert body["confirmation_url"] == created.confirmation_url
    assert await _coins(http, 21) == 0

    await yk.pay(body["external_id"])

    await _until(lambda: _coins_are(http, 21, 500))
    [payment] = await db("payments", user_id=21)
    assert (payment.status, payment.paid_at is not None) == ("succeeded", True)
    [succeeded] = await outbox("billing.payment_succeeded.v1")
    assert (succeeded["data"]["provider"], succeeded["data"]["purpose"]) == ("yookassa", "top_up")


async def _coins_are(http, user_id, coins):
    return await _coins(http, user_id) == coins


async def test_the_same_notification_ten_times_credits_once(http, yk, key, count_credits):
    body = (await _top_up(http, 22, 300, key())).json()
    await yk.set_faults(repeat=10)

    await yk.pay(body["external_id"])

    await yk.wait_for_notifications(event="payment.succeeded", object_id=body["external_id"], count=10)
    await _until(lambda: _coins_are(http, 22, 300))
    await asyncio.sleep(0.3)  # the last background settlements finish
    assert await count_credits(body["id"]) == 1
    assert await _coins(http, 22) == 300


async def test_reordered_notifications_settle_each_payment_by_its_own_state(http, yk, key):
    paid = (await _top_up(http, 23, 200, key())).json()
    given_up = (await _top_up(http, 23, 700, key())).json()
    await yk.set_faults(reorder=2)

    await yk.pay(paid["external_id"])
    await yk.cancel(given_up["external_id"])

    await yk.wait_for_notifications(object_id=given_up["external_id"])
    await _until(lambda: _coins_are(http, 23, 200))
    payments = (await http.get("/internal/learners/23/payments")).json()["items"]
    assert {p["id"]: p["status"] for p in payments} == {paid["id"]: "succeeded", given_up["id"]: "canceled"}


async def test_a_lost_notification_is_made_good_by_the_reconciliation(http, yk, key, resources):
    body = (await _top_up(http, 24, 400, key())).json()
    await yk.set_faults(drop=1)
    await yk.pay(body["external_id"])
    await yk.wait_for_notifications(object_id=body["external_id"], status="dropped")
    assert await _coins(http, 24) == 0

    await asyncio.sleep(1.1)  # past YOOKASSA_PENDING_TIMEOUT_S of the test settings
    counts = await reconcile_once(resources)

    assert counts["payments_settled"] >= 1
    assert await _coins(http, 24) == 400


async def test_a_notification_from_outside_yookassas_networks_is_refused(resources, service, key, http, yk, db):
    from academy_runtime.http import create_app

    body = (await _top_up(http, 25, 500, key())).json()
    await yk.pay(body["external_id"])  # even for a payment that really succeeded, the sender must be YooKassa
    await yk.set_notification_url(None)
    forged = {"type": "notification", "event": "payment.succeeded", "object": {"id": body["external_id"]}}
    app = create_app(service, resources.settings)
    app.state.resources = resources
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://billing") as outsider:
        response = await outsider.post("/webhooks/yookassa", json=forged)

    assert response.status_code == 403


async def test_a_forged_notification_from_a_trusted_address_credits_nothing(http, billing_http, yk, key, db):
    body = (await _top_up(http, 26, 500, key())).json()
    forged = {
        "type": "notification",
        "event": "payment.succeeded",
        "object": {
            "id": body["external_id"],
            "status": "succeeded",
            "paid": True,
            "amount": {"value": "500.00", "currency": "RUB"},
        },
    }
    async with httpx.AsyncClient(base_url=billing_http) as sender:
        answers = [await sender.post("/webhooks/yookassa", json=forged) for _ in range(3)]
        unknown = await sender.post(
            "/webhooks/yookassa",
            json={**forged, "object": {**forged["object"], "id": "2f000000-000f-5000-8000-000000000000"}},
        )
        garbage = await sender.post("/webhooks/yookassa", content=b"\x00not json")

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert unknown.status_code == 200
    assert garbage.status_code == 422
    await asyncio.sleep(0.5)
    [payment] = await db("payments", user_id=26)
    assert payment.status == "pending"  # the API says pending: the notification's claim is not believed
    assert await _coins(http, 26) == 0


async def test_a_canceled_payment_fails_and_credits_nothing(http, yk, key, db, outbox):
    body = (await _top_up(http, 27, 500, key())).json()

    await yk.cancel(body["external_id"])

    async def canceled():
        return (await db("payments", user_id=27))[0].status == "canceled"

    await _until(canceled)
    [failed] = await outbox("billing.payment_failed.v1")
    assert failed["data"]["reason"] == "expired_on_confirmation"
    assert await _coins(http, 27) == 0


async def test_a_notification_that_arrives_before_our_create_committed_is_credited_once(
    resources, http, yk, key, yookassa_server, count_credits
):
    # Our row is committed before YooKassa is called, but YooKassa's id is stored only after it answers.
    # Here the payment is created and paid at YooKassa, and settled, before that second commit happens.
    request_key = key()
    async with resources.sessionmaker() as session, session.begin():
        payment = await PaymentRepository(session).create(
            user_id=28,
            purpose="top_up",
            amount=Decimal(500),
            currency="RUB",
            payment_method="yookassa",
            idempotence_key=service._key("yk", 28, request_key),
            coins=500,
        )
    body = service._yookassa_payment_body(resources.settings, payment, "79161234567")
    created = await service.providers(resources).yookassa.create_payment(body, idempotence_key=payment.idempotence_key)
    await yk.set_notification_url(None)
    await yk.pay(created["id"])

    assert await settle_yookassa_payment(resources, created["id"]) == "succeeded"
    late = await _top_up(http, 28, 500, request_key)  # the create call's own answer now lands

    assert late.status_code == 200
    assert late.json()["status"] == "succeeded"
    assert await count_credits(payment.id) == 1
    assert await _coins(http, 28) == 500


async def test_yookassa_failing_leaves_the_payment_pending_and_a_retry_creates_it_once(http, yk, key, db):
    request_key = key()
    await yk.set_faults(api_errors=1, api_status=503)

    failed = await _top_up(http, 29, 500, request_key)
    retried = await _top_up(http, 29, 500, request_key)

    assert failed.status_code == 503
    assert retried.status_code == 200, retried.text
    assert len(await db("payments", user_id=29)) == 1
    created = [p for p in await yk.payments() if p.metadata.get("user_id") == "29"]
    assert len(created) == 1


@pytest.mark.parametrize("amount", [0, -100, "сто", 99, 50_001, 10**15, 1.5, None])
async def test_a_top_up_outside_the_limits_is_refused_and_creates_nothing(http, key, db, amount):
    response = await _top_up(http, 30, amount, key())

    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"]
    assert await db("payments", user_id=30) == []


async def test_a_partial_refund_takes_back_its_coins_and_a_refund_of_spent_coins_is_refused(
    http, operator, yk, key, put_course
):
    body = (await _top_up(http, 31, 1000, key())).json()
    await yk.pay(body["external_id"])
    await _until(lambda: _coins_are(http, 31, 1000))

    partial = await operator.post(
        f"/internal/payments/{body['id']}/refunds",
        json={"amount": "400.00", "reason": "ошибочная сумма"},
        headers={"Idempotency-Key": key()},
    )
    too_much = await operator.post(
        f"/internal/payments/{body['id']}/refunds",
        json={"amount": "700.00", "reason": "больше, чем осталось"},
        headers={"Idempotency-Key": key()},
    )

    assert partial.status_code == 200, partial.text
    assert partial.json()["status"] == "succeeded"
    assert too_much.status_code == 409
    assert await _coins(http, 31) == 600
    await put_course(531, "550.00")
    await http.post(
        "/internal/learners/31/purchases",
        json={"course_id": 531, "coins_price": 550},
        headers={"Idempotency-Key": key()},
    )
    spent = await operator.post(
        f"/internal/payments/{body['id']}/refunds", json={"reason": "остаток"}, headers={"Idempotency-Key": key()}
    )
    assert (spent.status_code, spent.json()["error"]["code"]) == (409, "insufficient_funds")
    assert await _coins(http, 31) == 50
    [emulated] = [r for r in await yk.refunds() if r["payment_id"] == body["external_id"]]
    assert emulated["amount"]["value"] == "400.00"


async def test_a_learner_reads_their_own_payment_and_not_another_ones(http, key):
    body = (await _top_up(http, 32, 500, key())).json()

    own = await http.get(f"/internal/learners/32/payments/{body['id']}")
    other = await http.get(f"/internal/learners/33/payments/{body['id']}")
    huge = await http.get("/internal/learners/32/payments/99999999999999999999")

    assert (own.status_code, own.json()["payment_method"], own.json()["coins"]) == (200, "yookassa", 500)
    assert other.status_code == 404
    assert huge.status_code == 422


async def test_refunds_in_parts_take_back_a_top_ups_coins_exactly_once(http, operator, yk, key):
    body = (await _top_up(http, 34, 500, key())).json()
    await yk.pay(body["external_id"])
    await _until(lambda: _coins_are(http, 34, 500))

    async def refund(amount=None):
        response = await operator.post(
            f"/internal/payments/{body['id']}/refunds",
            json={"reason": "частичный возврат", **({"amount": amount} if amount else {})},
            headers={"Idempotency-Key": key()},
        )
        assert response.status_code == 200, response.text
        return response.json()

    for _ in range(3):
        await refund("0.01")  # worth no whole coin: nothing is taken
    assert await _coins(http, 34) == 500
    await refund("10.50")  # 10.5 coins: 10 taken, never rounded against the learner
    assert await _coins(http, 34) == 490
    await refund()  # the rest: exactly the coins still left of the top-up
    assert await _coins(http, 34) == 0
    report = (await operator.get("/internal/reconciliation")).json()
    assert report["consistent"], report["differences"]


async def test_a_refund_key_names_one_refund(http, operator, yk, key):
    first = (await _top_up(http, 35, 300, key())).json()
    second = (await _top_up(http, 35, 300, key())).json()
    for payment in (first, second):
        await yk.pay(payment["external_id"])
    await _until(lambda: _coins_are(http, 35, 600))
    refund_key = key()

    done = await operator.post(
        f"/internal/payments/{first['id']}/refunds",
        json={"amount": "100.00", "reason": "первый"},
        headers={"Idempotency-Key": refund_key},
    )
    other_payment = await operator.post(
        f"/internal/payments/{second['id']}/refunds",
        json={"amount": "100.00", "reason": "второй"},
        headers={"Idempotency-Key": refund_key},
    )
    other_amount = await operator.post(
        f"/internal/payments/{first['id']}/refunds",
        json={"amount": "200.00", "reason": "первый"},
        headers={"Idempotency-Key": refund_key},
    )

    assert done.status_code == 200
    assert other_payment.status_code == 422
    assert other_amount.status_code == 422
    assert (await operator.get(f"/internal/payments/{second['id']}/refunds")).json() == []
    assert await _coins(http, 35) == 500


@pytest.mark.parametrize(
    "object_id", ["../payments/x", "12345", "2d8f5a1e-000f-5000-8000-1a2b3c4d5e6f\u0000", "a" * 300, ""]
)
async def test_a_notification_whose_id_is_not_a_yookassa_id_is_refused(billing_http, object_id):
    forged = {"type": "notification", "event": "payment.succeeded", "object": {"id": object_id}}
    async with httpx.AsyncClient(base_url=billing_http) as sender:
        response = await sender.post("/webhooks/yookassa", json=forged)

    assert response.status_code == 422


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/internal/wallets/36/adjustments", {"delta": 1, "reason": "a\u0000bcd"}),
        ("/internal/stars/pre-checkout", {"payload": "a\u0000b", "user_id": 36, "currency": "XTR", "total_amount": 1}),
        ("/internal/learners/36/stars-invoices", {"purpose": "top_up", "stars": 5, "x": "\u0000"}),
    ],
)
async def test_a_nul_character_is_refused_with_422(operator, key, path, body):
    response = await operator.post(path, json=body, headers={"Idempotency-Key": key()})

    assert response.status_code == 422, response.text


async def test_an_id_past_int64_is_a_422(http):
    response = await http.get("/internal/wallets/1/transactions", params={"before_id": 2**63})

    assert response.status_code == 422


async def test_the_same_key_sent_four_times_at_once_makes_one_payment_and_one_answer(http, yk, key, db):
    """A client retrying while its first call still runs (QA: three of four got a 500 from the unique key)."""
    request_key = key()

    responses = await asyncio.gather(*(_top_up(http, 22, 500, request_key) for _ in range(4)))

    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(await db("payments", user_id=22)) == 1
