"""Telegram Stars: offers, invoices, pre-checkout, successful_payment, automatic and operator refunds."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from academy_billing.models import Payment
from academy_tg_emulator import TestUser
from sqlalchemy import update

pytestmark = pytest.mark.integration


async def _invoice(http, user_id, course_id, key, **extra):
    response = await http.post(
        f"/internal/learners/{user_id}/stars-invoices",
        json={"purpose": "course", "course_id": course_id, **extra},
        headers={"Idempotency-Key": key},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_rouble_course_is_offered_in_stars_at_the_rate_and_in_coins(http, put_course):
    await put_course(501, "990.00", "RUB")

    offer = (await http.get("/internal/learners/7/offers/501")).json()

    # 990 ₽ × 0.6 stars per rouble (the default rate), 990 ₽ × 1 coin per rouble
    assert (offer["stars_price"], offer["coins_price"], offer["on_sale"], offer["owned"]) == (594, 990, True, False)
    assert (offer["balance"], offer["missing_coins"], offer["confirm_wallet_purchases"]) == (0, 990, True)


async def test_an_operator_rate_changes_the_stars_price_and_a_stars_priced_course_keeps_its_own(
    http, operator, put_course
):
    await put_course(502, "990.00", "RUB")
    await put_course(503, 250, "XTR")

    refused = await http.put("/internal/exchange-rates/RUB", json={"stars_per_unit": "1", "coins_per_unit": "2"})
    changed = await operator.put("/internal/exchange-rates/RUB", json={"stars_per_unit": "0.5", "coins_per_unit": "2"})

    assert refused.status_code == 403
    assert changed.status_code == 200
    rub = (await http.get("/internal/learners/7/offers/502")).json()
    assert (rub["stars_price"], rub["coins_price"]) == (495, 1980)
    xtr = (await http.get("/internal/learners/7/offers/503")).json()
    assert xtr["stars_price"] == 250


async def test_an_invoice_payload_is_opaque_and_the_same_request_gives_the_same_invoice(http, put_course, key):
    await put_course(504, "990.00")
    request_key = key()

    first = await _invoice(http, 8, 504, request_key)
    again = await _invoice(http, 8, 504, request_key)
    pressed_again = await _invoice(http, 8, 504, key())  # the button again, while the invoice is open
    await put_course(504, "1190.00")
    repriced = await _invoice(http, 8, 504, key())
    other_learner = await _invoice(http, 9, 504, key())

    assert first == again == pressed_again
    assert repriced["payload"] != first["payload"]
    assert repriced["amount"] == 714
    assert other_learner["payload"] not in (first["payload"], repriced["payload"])
    assert first["payload"] != str(first["payment_id"])
    assert len(first["payload"]) >= 40
    assert (first["currency"], first["amount"], len(first["title"]) <= 32) == ("XTR", 594, True)


async def test_pre_checkout_says_why_it_refuses(http, put_course, key, resources):
    await put_course(505, "990.00")
    invoice = await _invoice(http, 9, 505, key())

    async def ask(**changes):
        body = {"payload": invoice["payload"], "user_id": 9, "currency": "XTR", "total_amount": 594, **changes}
        return (await http.post("/internal/stars/pre-checkout", json=body)).json()

    assert await ask() == {"ok": True, "reason": None}
    assert (await ask(user_id=10))["reason"] == "not_yours"
    assert (await ask(payload="not-our-payload"))["reason"] == "unknown_invoice"
    assert (await ask(total_amount=1))["reason"] == "price_changed"

    await put_course(505, "1290.00")  # the catalog raised the price after the invoice was sent
    assert (await ask())["reason"] == "price_changed"
    await put_course(505, "990.00", active=False)  # archived
    assert (await ask())["reason"] == "course_unavailable"
    await put_course(505, "990.00")
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(
            update(Payment)
            .where(Payment.id == invoice["payment_id"])
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert (await ask())["reason"] == "expired"


async def test_a_paid_invoice_buys_the_course_once_however_often_telegram_delivers_it(
    http, put_course, key, pay_stars, db, outbox
):
    await put_course(506, "990.00")
    learner = TestUser.new("Анна")
    invoice = await _invoice(http, 11, 506, key())
    paid = await pay_stars(learner, 11, invoice)

    answers = await asyncio.gather(*(http.post("/internal/stars/payments", json=paid) for _ in range(10)))

    assert {a.status_code for a in answers} == {200}
    bodies = [a.json() for a in answers]
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["outcome"] == "course_purchased"
    purchases = await db("purchases", user_id=11)
    assert [(p.course_id, p.status, p.currency, p.price) for p in purchases] == [(506, "active", "XTR", 594)]
    [payment] = await db("payments", user_id=11)
    assert (payment.status, payment.external_id) == ("succeeded", paid["telegram_payment_charge_id"])
    # Ten deliveries, one event of each kind.
    [succeeded] = await outbox("billing.payment_succeeded.v1")
    [bought] = await outbox("billing.course_purchased.v1")
    assert succeeded["data"]["amount"] == {"amount": "594", "currency": "XTR"}
    assert (bought["data"]["course_id"], bought["data"]["payment_id"]) == (506, payment.id)
    # and the learner already holds it: a new invoice is refused, pre-checkout of an old one too
    again = await http.post(
        "/internal/learners/11/stars-invoices",
        json={"purpose": "course", "course_id": 506},
        headers={"Idempotency-Key": key()},
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_owned")


async def test_stars_paid_for_a_course_the_learner_already_holds_go_back(
    http, put_course, key, pay_stars, db, tg, operator
):
    await put_course(507, "990.00")
    learner = TestUser.new("Вера")
    first = await _invoice(http, 12, 507, key())
    second = await _invoice(http, 12, 507, key())  # the same open invoice: Telegram takes it twice
    await http.post("/internal/stars/payments", json=await pay_stars(learner, 12, first))

    outcome = await http.post("/internal/stars/payments", json=await pay_stars(learner, 12, second))

    assert outcome.json()["outcome"] == "refunded"
    payments = await db("payments", user_id=12)
    assert [p.status for p in payments] == ["succeeded", "refunded"]
    [refund] = await db("refunds", user_id=12)
    assert (refund.status, refund.reason) == ("succeeded", "already_owned")
    # The emulator is the session's: only this learner's Telegram payments say what happened here.
    refunded = [p for p in await tg.payments() if p.get("refunded") and p["user_id"] == learner.id]
    assert [p["telegram_payment_charge_id"] for p in refunded] == [payments[1].external_id]
    assert len(await db("purchases", user_id=12)) == 1
    report = (await operator.get("/internal/reconciliation")).json()
    assert report["consistent"], report["differences"]


async def test_a_stars_top_up_credits_the_coins_at_the_rate(http, key, pay_stars):
    learner = TestUser.new("Ира")
    response = await http.post(
        "/internal/learners/13/stars-invoices",
        json={"purpose": "top_up", "stars": 100},
        headers={"Idempotency-Key": key()},
    )
    invoice = response.json()

    answer = (await http.post("/internal/stars/payments", json=await pay_stars(learner, 13, invoice))).json()

    assert (invoice["coins"], answer["outcome"], answer["coins"], answer["balance"]) == (150, "topped_up", 150, 150)
    assert (await http.get("/internal/wallets/13")).json()["coins"] == 150


async def test_an_operator_refund_gives_the_stars_back_once_and_takes_the_course_away(
    http, operator, put_course, key, pay_stars, db, tg, outbox
):
    await put_course(508, 300, "XTR")
    learner = TestUser.new("Оля")
    invoice = await _invoice(http, 14, 508, key())
    await http.post("/internal/stars/payments", json=await pay_stars(learner, 14, invoice))
    refund_key = key()

    first = await operator.post(
        f"/internal/payments/{invoice['payment_id']}/refunds",
        json={"reason": "курс не подошёл"},
        headers={"Idempotency-Key": refund_key},
    )
    repeated = await operator.post(
        f"/internal/payments/{invoice['payment_id']}/refunds",
        json={"reason": "курс не подошёл"},
        headers={"Idempotency-Key": refund_key},
    )
    another = await operator.post(
        f"/internal/payments/{invoice['payment_id']}/refunds",
        json={"reason": "ещё раз"},
        headers={"Idempotency-Key": key()},
    )
    partial = await operator.post(
        f"/internal/payments/{invoice['payment_id']}/refunds",
        json={"reason": "частично", "amount": "100"},
        headers={"Idempotency-Key": key()},
    )

    assert first.status_code == 200, first.text
    assert first.json()["status"] == "succeeded"
    assert repeated.json() == first.json()
    assert (another.status_code, another.json()["error"]["code"]) == (409, "not_refundable")
    assert partial.status_code == 409
    [purchase] = await db("purchases", user_id=14)
    assert purchase.status == "refunded"
    assert [p["refunded"] for p in await tg.payments() if p["user_id"] == learner.id] == [True]
    [refunded] = await outbox("billing.purchase_refunded.v1")
    assert (refunded["data"]["course_id"], refunded["data"]["purchase_id"]) == (508, purchase.id)
    [money_back] = await outbox("billing.payment_refunded.v1")
    assert money_back["data"]["amount"] == {"amount": "300", "currency": "XTR"}


async def test_a_payload_that_is_not_ours_changes_nothing(http, db):
    response = await http.post(
        "/internal/stars/payments",
        json={
            "payload": "forged",
            "user_id": 15,
            "telegram_user_id": 15,
            "currency": "XTR",
            "total_amount": 1,
            "telegram_payment_charge_id": "stx-forged",
        },
    )

    assert response.status_code == 404
    assert await db("payments", user_id=15) == []


@pytest.mark.parametrize(
    "body",
    [
        {"purpose": "course"},
        {"purpose": "top_up"},
        {"purpose": "top_up", "stars": 0},
        {"purpose": "top_up", "stars": -5},
        {"purpose": "top_up", "stars": "many"},
        {"purpose": "top_up", "stars": 10**12},
        {"purpose": "course", "course_id": 2**40},
        {"purpose": "course", "course_id": 999999},
    ],
)
async def test_bad_invoice_requests_get_a_clear_answer_and_change_nothing(http, key, db, body):
    response = await http.post("/internal/learners/16/stars-invoices", json=body, headers={"Idempotency-Key": key()})

    assert response.status_code in (404, 422), response.text
    assert response.json()["error"]["message"]
    assert await db("payments", user_id=16) == []


async def test_a_stars_payment_whose_update_was_lost_is_applied_from_the_star_transactions(
    http, put_course, key, tg, send_invoice, resources, db
):
    from academy_billing.payments.service import reconcile_once

    await put_course(509, "990.00")
    learner = TestUser.new("Лена")
    invoice = await _invoice(http, 17, 509, key())
    sent = await send_invoice(learner, invoice)
    # Telegram takes the Stars; the successful_payment update never reaches the bot.
    await tg.send_successful_payment(learner, invoice_message_id=sent["message_id"], deliver_update=False)
    assert await db("purchases", user_id=17) == []

    first = await reconcile_once(resources)
    second = await reconcile_once(resources)

    assert (first["stars_payments_applied"], second["stars_payments_applied"]) == (1, 0)
    [purchase] = await db("purchases", user_id=17)
    assert (purchase.course_id, purchase.status) == (509, "active")
    [payment] = await db("payments", user_id=17)
    assert payment.status == "succeeded"


async def test_the_star_transactions_are_read_again_when_they_are_not_where_we_left_them(
    http, put_course, key, tg, send_invoice, resources, db
):
    # The cursor says "20 read, the last was X"; the Bot API's history no longer has X there (a new
    # bot token, a Bot API server that started afresh): the history is read from its start.
    import json

    from academy_billing.payments.service import reconcile_once

    await resources.redis.set(
        resources.rkey("billing:stars-transactions-seen"), json.dumps({"offset": 20, "last_id": "stx-gone"})
    )
    await put_course(510, "990.00")
    learner = TestUser.new("Нина")
    invoice = await _invoice(http, 18, 510, key())
    sent = await send_invoice(learner, invoice)
    await tg.send_successful_payment(learner, invoice_message_id=sent["message_id"], deliver_update=False)

    counts = await reconcile_once(resources)

    assert counts["stars_payments_applied"] == 1
    assert [p.course_id for p in await db("purchases", user_id=18)] == [510]


@pytest.mark.parametrize("saved", [None, "", "10", "[1, 2]", "not json", '{"offset": "x"}', '{"offset": 5}'])
def test_a_stars_cursor_that_is_not_ours_reads_from_the_start(saved):
    from academy_billing.payments.service import _stars_cursor

    assert _stars_cursor(saved) == (0, None)


def test_a_stars_cursor_is_read_back():
    from academy_billing.payments.service import _stars_cursor

    assert _stars_cursor('{"offset": 12, "last_id": "stx1"}') == (12, "stx1")


async def test_a_stars_purchase_reversed_as_a_purchase_names_it_and_a_retry_gets_the_same_answer(
    http, operator, put_course, key, pay_stars, db
):
    await put_course(511, 200, "XTR")
    learner = TestUser.new("Зоя")
    invoice = await _invoice(http, 19, 511, key())
    await http.post("/internal/stars/payments", json=await pay_stars(learner, 19, invoice))
    [purchase] = await db("purchases", user_id=19)
    refund_key = key()

    first = await operator.post(
        f"/internal/purchases/{purchase.id}/refund",
        json={"reason": "по просьбе"},
        headers={"Idempotency-Key": refund_key},
    )
    retry = await operator.post(
        f"/internal/purchases/{purchase.id}/refund",
        json={"reason": "по просьбе"},
        headers={"Idempotency-Key": refund_key},
    )

    assert first.status_code == 200, first.text
    assert (first.json()["purchase_id"], first.json()["payment_id"]) == (purchase.id, invoice["payment_id"])
    assert retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"]
    assert [p.status for p in await db("purchases", user_id=19)] == ["refunded"]


async def test_the_same_key_sent_four_times_at_once_makes_one_invoice(http, put_course, key, db):
    await put_course(509, "990.00", "RUB")
    request_key = key()

    answers = await asyncio.gather(*(_invoice(http, 14, 509, request_key) for _ in range(4)))

    assert len({a["payment_id"] for a in answers}) == 1
    assert len(await db("payments", user_id=14)) == 1
