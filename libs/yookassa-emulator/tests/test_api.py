"""The shop's side: /v3 payments, capture, cancel, refunds, idempotence, auth and validation."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from academy_yookassa_emulator import YooKassaEmulatorClient

from .conftest import create_payment, payment_body

pytestmark = pytest.mark.timeout(60)

PAYMENT_ID = re.compile(r"^[0-9a-f]{8}-000f-5000-8000-[0-9a-f]{12}$")


def key() -> str:
    return str(uuid.uuid4())


def assert_error(response: httpx.Response, status: int, code: str, parameter: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert response.status_code == status, response.text
    assert body["type"] == "error"
    assert body["code"] == code
    assert body["description"]
    uuid.UUID(body["id"])
    if parameter is not None:
        assert body.get("parameter") == parameter, body
    return body


async def test_create_returns_a_pending_payment_with_a_confirmation_url(api: httpx.AsyncClient, base_url: str) -> None:
    payment = await create_payment(api, key())
    assert PAYMENT_ID.match(payment["id"])
    assert payment["status"] == "pending"
    assert payment["paid"] is False
    assert payment["amount"] == {"value": "500.00", "currency": "RUB"}
    assert payment["income_amount"] == {"value": "482.50", "currency": "RUB"}  # 3.5 % commission
    assert payment["refunded_amount"] == {"value": "0.00", "currency": "RUB"}
    assert payment["confirmation"]["type"] == "redirect"
    assert payment["confirmation"]["confirmation_url"] == f"{base_url}/checkout/{payment['id']}"
    assert payment["metadata"] == {"payment_id": "12", "user_id": "1001"}
    assert payment["description"] == "Пополнение баланса: 500 монет"
    assert payment["recipient"] == {"account_id": "100500", "gateway_id": "100700"}
    assert payment["test"] is True
    assert payment["refundable"] is False
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", payment["created_at"])
    fetched = await api.get(f"/payments/{payment['id']}")
    assert fetched.json() == payment


async def test_idempotence_key_repeats_the_answer_and_refuses_another_body(api: httpx.AsyncClient) -> None:
    same = key()
    first = await create_payment(api, same)
    again = await create_payment(api, same)
    assert again == first
    other = await api.post("/payments", json=payment_body("600.00"), headers={"Idempotence-Key": same})
    assert_error(other, 400, "invalid_request", "Idempotence-Key")
    missing = await api.post("/payments", json=payment_body())
    assert_error(missing, 400, "invalid_request", "Idempotence-Key")
    too_long = await api.post("/payments", json=payment_body(), headers={"Idempotence-Key": "k" * 65})
    assert_error(too_long, 400, "invalid_request", "Idempotence-Key")
    fresh = await create_payment(api, key())
    assert fresh["id"] != first["id"]


async def test_wrong_or_missing_credentials_are_refused(base_url: str, kassa: YooKassaEmulatorClient) -> None:
    async with httpx.AsyncClient(base_url=f"{base_url}/v3", trust_env=False) as http:
        assert_error(await http.get("/payments/x"), 401, "invalid_credentials")
        wrong = await http.post(
            "/payments", json=payment_body(), headers={"Idempotence-Key": key()}, auth=("academy-dev-shop", "nope")
        )
        assert_error(wrong, 401, "invalid_credentials")
        garbage = await http.get("/payments/x", headers={"Authorization": "Basic !!!"})
        assert_error(garbage, 401, "invalid_credentials")
    assert await kassa.payments() == []


async def test_unknown_objects_and_routes_are_404(api: httpx.AsyncClient) -> None:
    assert_error(await api.get("/payments/2d8f5a1e-000f-5000-8000-1a2b3c4d5e6f"), 404, "not_found")
    assert_error(await api.get("/refunds/nope"), 404, "not_found")
    assert_error(await api.get("/receipts"), 404, "not_found")


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        ({"amount": None}, "amount"),
        ({"amount": {"value": "0.00", "currency": "RUB"}}, "amount.value"),
        ({"amount": {"value": "-5", "currency": "RUB"}}, "amount.value"),
        ({"amount": {"value": "abc", "currency": "RUB"}}, "amount.value"),
        ({"amount": {"value": "1.005", "currency": "RUB"}}, "amount.value"),
        ({"amount": {"value": "500.00", "currency": "XXX"}}, "amount.currency"),
        ({"confirmation": None}, "confirmation"),
        ({"confirmation": {"type": "embedded"}}, "confirmation.type"),
        ({"confirmation": {"type": "redirect"}}, "confirmation.return_url"),
        ({"confirmation": {"type": "redirect", "return_url": "tg://x"}}, "confirmation.return_url"),
        ({"capture": "yes"}, "capture"),
        ({"description": "x" * 129}, "description"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"payment_id": 12}}, "metadata.payment_id"),
        ({"metadata": {"k" * 33: "v"}}, "metadata"),
    ],
)
async def test_payment_fields_are_validated(api: httpx.AsyncClient, change: dict[str, Any], parameter: str) -> None:
    body = {**payment_body(), **change}
    if "amount" in change:
        body.pop("receipt")
    response = await api.post("/payments", json=body, headers={"Idempotence-Key": key()})
    assert_error(response, 400, "invalid_request", parameter)


def receipt_with(**changes: Any) -> dict[str, Any]:
    receipt: dict[str, Any] = payment_body()["receipt"]
    item = receipt["items"][0]
    for name, value in changes.items():
        if name == "customer":
            receipt["customer"] = value
        elif value is None:
            item.pop(name)
        else:
            item[name] = value
    return receipt


@pytest.mark.parametrize(
    ("receipt", "parameter"),
    [
        (receipt_with(customer={}), "receipt.customer"),
        (receipt_with(customer={"full_name": "Анна"}), "receipt.customer"),
        (receipt_with(customer={"phone": "call me"}), "receipt.customer.phone"),
        (receipt_with(customer={"email": "nope"}), "receipt.customer.email"),
        (receipt_with(description="x" * 129), "receipt.items[0].description"),
        (receipt_with(vat_code=0), "receipt.items[0].vat_code"),
        (receipt_with(vat_code=13), "receipt.items[0].vat_code"),
        (receipt_with(vat_code=None), "receipt.items[0].vat_code"),
        (receipt_with(quantity="0"), "receipt.items[0].quantity"),
        (receipt_with(payment_mode="whenever"), "receipt.items[0].payment_mode"),
        (receipt_with(payment_subject="coins"), "receipt.items[0].payment_subject"),
        (receipt_with(amount={"value": "400.00", "currency": "RUB"}), "receipt.items"),
        (receipt_with(quantity="2"), "receipt.items"),
        (receipt_with(amount={"value": "500.00", "currency": "USD"}), "receipt.items[0].amount"),
    ],
)
async def test_receipts_follow_54_fz(api: httpx.AsyncClient, receipt: dict[str, Any], parameter: str) -> None:
    response = await api.post("/payments", json=payment_body(receipt=receipt), headers={"Idempotence-Key": key()})
    assert_error(response, 400, "invalid_request", parameter)


async def test_receipt_with_several_items_and_an_email_is_accepted(api: httpx.AsyncClient) -> None:
    receipt = {
        "customer": {"email": "anna@example.com"},
        "items": [
            {"description": "A", "quantity": "2", "amount": {"value": "100.50", "currency": "RUB"}, "vat_code": 4},
            {"description": "B", "quantity": 1, "amount": {"value": "299.00", "currency": "RUB"}, "vat_code": 12},
        ],
    }
    payment = await create_payment(api, key(), receipt=receipt)
    assert payment["receipt_registration"] == "pending"
    no_receipt = payment_body()
    no_receipt.pop("receipt")
    response = await api.post("/payments", json=no_receipt, headers={"Idempotence-Key": key()})
    assert response.status_code == 200
    assert "receipt_registration" not in response.json()


async def test_two_stage_payment_capture_and_cancel(api: httpx.AsyncClient, kassa: YooKassaEmulatorClient) -> None:
    payment = await create_payment(api, key(), capture=False)
    early = await api.post(f"/payments/{payment['id']}/capture", headers={"Idempotence-Key": key()})
    assert_error(early, 400, "invalid_request")
    paid = await kassa.pay(payment["id"])
    assert (paid.status, paid.paid) == ("waiting_for_capture", True)
    assert paid.expires_at is not None
    captured = await api.post(
        f"/payments/{payment['id']}/capture",
        json={"amount": {"value": "400.00", "currency": "RUB"}},
        headers={"Idempotence-Key": key()},
    )
    assert captured.status_code == 200, captured.text
    body = captured.json()
    assert (body["status"], body["amount"]["value"], body["refundable"]) == ("succeeded", "400.00", True)
    assert "captured_at" in body
    assert "expires_at" not in body

    other = await create_payment(api, key(), capture=False)
    await kassa.pay(other["id"])
    canceled = await api.post(f"/payments/{other['id']}/cancel", headers={"Idempotence-Key": key()})
    assert canceled.json()["cancellation_details"] == {"party": "merchant", "reason": "canceled_by_merchant"}
    again = await api.post(f"/payments/{other['id']}/cancel", headers={"Idempotence-Key": key()})
    assert_error(again, 400, "invalid_request")
    events = [n.event for n in await kassa.wait_for_notifications(count=4)]
    assert events == [
        "payment.waiting_for_capture",
        "payment.succeeded",
        "payment.waiting_for_capture",
        "payment.canceled",
    ]


async def test_refunds_partial_then_over_the_limit(api: httpx.AsyncClient, kassa: YooKassaEmulatorClient) -> None:
    payment = await create_payment(api, key())
    not_yet = await api.post(
        "/refunds",
        json={"payment_id": payment["id"], "amount": {"value": "100.00", "currency": "RUB"}},
        headers={"Idempotence-Key": key()},
    )
    assert_error(not_yet, 400, "invalid_request", "payment_id")
    await kassa.pay(payment["id"])
    refund_key = key()
    body = {"payment_id": payment["id"], "amount": {"value": "200.00", "currency": "RUB"}, "description": "Возврат"}
    first = await api.post("/refunds", json=body, headers={"Idempotence-Key": refund_key})
    assert first.status_code == 200, first.text
    refund = first.json()
    assert refund["status"] == "succeeded"
    assert refund["payment_id"] == payment["id"]
    assert refund["amount"] == {"value": "200.00", "currency": "RUB"}
    assert refund["description"] == "Возврат"
    assert re.match(r"^[0-9a-f]{8}-0015-5000-9000-[0-9a-f]{12}$", refund["id"])
    repeated = await api.post("/refunds", json=body, headers={"Idempotence-Key": refund_key})
    assert repeated.json() == refund  # refunded once
    assert (await api.get(f"/refunds/{refund['id']}")).json() == refund
    after = (await api.get(f"/payments/{payment['id']}")).json()
    assert after["refunded_amount"] == {"value": "200.00", "currency": "RUB"}
    assert after["status"] == "succeeded"
    assert after["refundable"] is True

    over = await api.post(
        "/refunds",
        json={"payment_id": payment["id"], "amount": {"value": "300.01", "currency": "RUB"}},
        headers={"Idempotence-Key": key()},
    )
    assert_error(over, 400, "invalid_request", "amount.value")
    rest = await api.post(
        "/refunds",
        json={"payment_id": payment["id"], "amount": {"value": "300.00", "currency": "RUB"}},
        headers={"Idempotence-Key": key()},
    )
    assert rest.status_code == 200
    final = (await api.get(f"/payments/{payment['id']}")).json()
    assert (final["refunded_amount"]["value"], final["refundable"]) == ("500.00", False)
    unknown = await api.post(
        "/refunds",
        json={"payment_id": "nope", "amount": {"value": "1.00", "currency": "RUB"}},
        headers={"Idempotence-Key": key()},
    )
    assert_error(unknown, 400, "invalid_request", "payment_id")
    refunds = await kassa.wait_for_notifications(event="refund.succeeded", count=2)
    assert [n.body["object"]["amount"]["value"] for n in refunds] == ["200.00", "300.00"]
    assert len(await kassa.refunds()) == 2


async def test_calls_are_logged_with_their_idempotence_key(
    api: httpx.AsyncClient, kassa: YooKassaEmulatorClient
) -> None:
    the_key = key()
    payment = await create_payment(api, the_key)
    await api.get(f"/payments/{payment['id']}")
    calls = await kassa.calls()
    assert [(c["method"], c["path"], c["status"]) for c in calls] == [
        ("POST", "/v3/payments", 200),
        ("GET", f"/v3/payments/{payment['id']}", 200),
    ]
    assert calls[0]["idempotence_key"] == the_key
    assert calls[0]["body"]["metadata"] == {"payment_id": "12", "user_id": "1001"}
    assert await kassa.calls(since=calls[0]["seq"]) == calls[1:]
