"""Notifications: delivery from 127.0.0.1, retries, each fault kind, the page, and the official SDK's parser."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from academy_yookassa_emulator import EmulatorError, YooKassaEmulatorClient
from academy_yookassa_emulator.testing import NotificationReceiver

from .conftest import create_payment, payment_body

pytestmark = pytest.mark.timeout(60)


def key() -> str:
    return str(uuid.uuid4())


async def wait_received(receiver: NotificationReceiver, count: int, *, only_accepted: bool = True) -> list:
    return await asyncio.to_thread(receiver.wait_for, count, only_accepted=only_accepted)


async def test_paying_on_the_page_succeeds_redirects_and_notifies(
    api: httpx.AsyncClient, kassa: YooKassaEmulatorClient, receiver: NotificationReceiver
) -> None:
    payment = await create_payment(api, key())
    async with httpx.AsyncClient(trust_env=False) as browser:
        page = await browser.get(payment["confirmation"]["confirmation_url"])
        assert page.status_code == 200
        assert "500.00 RUB" in page.text
        assert f'action="/checkout/{payment["id"]}/pay"' in page.text
        assert f'action="/checkout/{payment["id"]}/cancel"' in page.text
        paid = await browser.post(f"{kassa.base_url}/checkout/{payment['id']}/pay")
        assert paid.status_code == 303
        assert paid.headers["location"] == "https://t.me/beauty_academy_bot"
        again = await browser.post(f"{kassa.base_url}/checkout/{payment['id']}/pay")
        assert again.status_code == 409
        assert "succeeded" in again.text
        assert 'id="pay"' not in again.text
    [received] = await wait_received(receiver, 1)
    assert received.client_host == "127.0.0.1"
    assert received.event == "payment.succeeded"
    obj = received.body["object"]
    assert received.body["type"] == "notification"
    assert (obj["id"], obj["status"], obj["paid"], obj["refundable"]) == (payment["id"], "succeeded", True, True)
    assert obj["payment_method"]["type"] == "bank_card"
    assert obj["payment_method"]["saved"] is False
    assert obj["captured_at"]
    assert obj["metadata"] == {"payment_id": "12", "user_id": "1001"}
    assert "confirmation" not in obj
    assert obj == (await api.get(f"/payments/{payment['id']}")).json()
    [logged] = await kassa.wait_for_notifications(object_id=payment["id"])
    assert (logged.status, logged.response_status, logged.attempts, logged.url) == ("delivered", 200, 1, receiver.url)
    assert logged.body == received.body


async def test_cancel_on_the_page_and_through_the_control_api(
    api: httpx.AsyncClient, kassa: YooKassaEmulatorClient, receiver: NotificationReceiver
) -> None:
    first = await create_payment(api, key())
    async with httpx.AsyncClient(trust_env=False) as browser:
        canceled = await browser.post(f"{kassa.base_url}/checkout/{first['id']}/cancel")
    assert canceled.status_code == 303
    second = await create_payment(api, key())
    declined = await kassa.cancel(second["id"], party="payment_network", reason="insufficient_funds")
    assert declined.cancellation_details == {"party": "payment_network", "reason": "insufficient_funds"}
    with pytest.raises(EmulatorError) as caught:
        await kassa.pay(second["id"])
    assert caught.value.status_code == 409
    received = await wait_received(receiver, 2)
    assert [(r.event, r.object_id) for r in received] == [
        ("payment.canceled", first["id"]),
        ("payment.canceled", second["id"]),
    ]
    assert received[0].body["object"]["cancellation_details"] == {
        "party": "yoo_money",
        "reason": "expired_on_confirmation",
    }
    assert received[0].body["object"]["paid"] is False


async def test_refused_deliveries_are_retried_then_given_up(
    api: httpx.AsyncClient, kassa: YooKassaEmulatorClient, receiver: NotificationReceiver
) -> None:
    receiver.fail_next(2, status=500)
    payment = await create_payment(api, key())
    await kassa.pay(payment["id"])
    [delivered] = await kassa.wait_for_notifications(object_id=payment["id"])
    assert delivered.attempts == 3
    assert [a["status_code"] for a in delivered.attempt_log] == [500, 500, 200]
    assert [r.status for r in receiver.received()] == [500, 500, 200]

    receiver.clear()
    receiver.fail_next(10, status=503)
    other = await create_payment(api, key())
    await kassa.pay(other["id"])
    [failed] = await kassa.wait_for_notifications(object_id=other["id"], status="failed")
    assert failed.attempts == 4  # notification_max_attempts in conftest
    assert len(receiver.received()) == 4


async def test_connection_errors_are_retried(api: httpx.AsyncClient, kassa: YooKassaEmulatorClient) -> None:
    await kassa.set_notification_url("http://127.0.0.1:9/nothing-listens-here")
    assert await kassa.notification_url() == "http://127.0.0.1:9/nothing-listens-here"
    payment = await create_payment(api, key())
    await kassa.pay(payment["id"])
    [failed] = await kassa.wait_for_notifications(status="failed")
    assert failed.attempts == 4
    assert failed.attempt_log[0]["error"] == "connection refused"


async def test_without_a_url_notifications_are_only_logged(
    api: httpx.AsyncClient, kassa: YooKassaEmulatorClient
) -> None:
    await kassa.set_notification_url(None)
    payment = await create_payment(api, key())
    await kassa.pay(payment["id"])
    [skipped] = await kassa.notifications()
    assert (skipped.status, skipped.url, skipped.event) == ("skipped", None, "payment.succeeded")
    await kassa.reset(full=True)
    assert await kassa.notification_url() is not None


async def test_repeat_fault_delivers_one_notification_many_times(
    api: httpx.AsyncClient, kassa: YooKassaEmulatorClient, receiver: NotificationReceiver
) -> None:
    await kassa.set_faults(repeat=10)
    payment = await create_payment(api, key())
    await kassa.pay(payment["id"])
    received = await wait_received(receiver, 10)
    assert {r.object_id for r in received} == {payment["id"]}
    assert len({str(r.body) for r in received}) == 1
    log = await kassa.wait_for_notifications(count=10)
    assert sorted(n.copy_number for n in log) == list(range(1, 11))
    assert (await kassa.faults())["repeat_next"] == 0
    await kassa.notify(payment["id"])  # the fault is used up: one more, once
    assert len(await wait_received(receiver, 11)) == 11
    await asyncio.sleep(0.2)
    assert len(receiver.received()) == 11


async def test_reorder_fault_releases_held_notifications_newest_first(
    api: httpx.AsyncClient, kassa: YooKassaEmulatorClient, receiver: NotificationReceiver
) -> None:
    await kassa.set_faults(reorder=2)
    payment = await create_payment(api, key(), capture=False)
    await kassa.pay(payment["id"])
    held = await kassa.notifications(status="held")
    assert [n.event for n in held] == ["payment.waiting_for_capture"]
    captured = await api.post(f"/payments/{payment['id']}/capture", headers={"Idempotence-Key": key()})
    assert captured.status_code == 200
    received = await wait_received(receiver, 2)
    assert [r.event for r in received] == ["payment.succeeded", "payment.waiting_for_capture"]

    await kassa.set_faults(reorder=3)
    other = await create_payment(api, key())
    await kassa.pay(other["id"])
    assert (await kassa.faults())["held"] == 1
    assert await kassa.release_held() == 1
    assert len(await wait_received(receiver, 3)) == 3


async def test_drop_fault_loses_a_notification(
    api: httpx.AsyncClient, kassa: YooKassaEmulatorClient, receiver: NotificationReceiver
) -> None:
    await kassa.set_faults(drop=1)
    lost = await create_payment(api, key())
    await kassa.pay(lost["id"])
    kept = await create_payment(api, key())
    await kassa.pay(kept["id"])
    received = await wait_received(receiver, 1)
    assert [r.object_id for r in received] == [kept["id"]]
    [dropped] = await kassa.notifications(status="dropped")
    assert (dropped.object_id, dropped.attempts, dropped.faults) == (lost["id"], 0, ["dropped"])
    # the payment is paid all the same: a reconciliation that re-reads it finds it succeeded
    assert (await api.get(f"/payments/{lost['id']}")).json()["status"] == "succeeded"
    resent = await kassa.notify(lost["id"])
    assert resent[0].faults == ["manual"]
    assert [r.object_id for r in await wait_received(receiver, 2)] == [kept["id"], lost["id"]]


async def test_delay_fault_sends_a_notification_late(
    api: httpx.AsyncClient, kassa: YooKassaEmulatorClient, receiver: NotificationReceiver
) -> None:
    await kassa.set_faults(delay=0.5)
    late = await create_payment(api, key())
    started = time.monotonic()
    await kassa.pay(late["id"])
    on_time = await create_payment(api, key())
    await kassa.pay(on_time["id"])
    received = await wait_received(receiver, 2)
    assert [r.object_id for r in received] == [on_time["id"], late["id"]]
    assert received[1].at - received[0].at >= 0.3
    assert time.monotonic() - started >= 0.5
    [delayed] = await kassa.notifications(object_id=late["id"])
    assert delayed.faults == ["delayed"]


async def test_api_fault_answers_5xx_before_or_after_doing_the_work(
    api: httpx.AsyncClient, kassa: YooKassaEmulatorClient
) -> None:
    await kassa.set_faults(api_errors=2)
    the_key = key()
    for _ in range(2):
        failed = await api.post("/payments", json={}, headers={"Idempotence-Key": the_key})
        assert failed.status_code == 500
        assert failed.json()["code"] == "internal_server_error"
    assert await kassa.payments() == []
    created = await create_payment(api, the_key)

    await kassa.set_faults(api_errors=1, api_status=503, api_fail_after=True)
    # a pending payment cannot be canceled: the 400 is replaced by the forced 503
    lost = await api.post(f"/payments/{created['id']}/cancel", headers={"Idempotence-Key": key()})
    assert lost.status_code == 503
    await kassa.set_faults(api_errors=1, api_fail_after=True)
    answer_lost_key = key()
    lost_answer = await api.post("/payments", json=payment_body(), headers={"Idempotence-Key": answer_lost_key})
    assert lost_answer.status_code == 500
    assert len(await kassa.payments()) == 2  # the payment exists although its answer was lost
    retried = await api.post("/payments", json=payment_body(), headers={"Idempotence-Key": answer_lost_key})
    assert retried.status_code == 200
    assert retried.json()["id"] == (await kassa.payments())[-1].id
    assert (await kassa.faults())["api_fail_next"] == 0


async def test_forged_notification_for_a_pending_payment(
    api: httpx.AsyncClient, kassa: YooKassaEmulatorClient, receiver: NotificationReceiver
) -> None:
    payment = await create_payment(api, key())
    with pytest.raises(EmulatorError) as caught:
        await kassa.notify(payment["id"])
    assert caught.value.status_code == 409
    await kassa.notify(payment["id"], event="payment.succeeded", overrides={"status": "succeeded", "paid": True})
    [received] = await wait_received(receiver, 1)
    assert (received.event, received.body["object"]["status"]) == ("payment.succeeded", "succeeded")
    assert (await api.get(f"/payments/{payment['id']}")).json()["status"] == "pending"


async def test_official_sdk_parses_every_notification(
    api: httpx.AsyncClient, kassa: YooKassaEmulatorClient, receiver: NotificationReceiver
) -> None:
    factory_module = pytest.importorskip("yookassa.domain.notification")
    factory = factory_module.WebhookNotificationFactory()
    succeeded = await create_payment(api, key())
    await kassa.pay(succeeded["id"])
    two_stage = await create_payment(api, key(), capture=False)
    await kassa.pay(two_stage["id"])
    canceled = await create_payment(api, key())
    await kassa.cancel(canceled["id"])
    refund = await api.post(
        "/refunds",
        json={"payment_id": succeeded["id"], "amount": {"value": "100.00", "currency": "RUB"}},
        headers={"Idempotence-Key": key()},
    )
    assert refund.status_code == 200
    received = await wait_received(receiver, 4)
    events = {}
    for item in received:
        notification = factory.create(item.body)
        events[notification.event] = notification.object
    assert set(events) == {"payment.succeeded", "payment.waiting_for_capture", "payment.canceled", "refund.succeeded"}
    paid = events["payment.succeeded"]
    assert (paid.id, paid.status, paid.paid, paid.amount.value) == (succeeded["id"], "succeeded", True, 500.0)
    assert paid.metadata == {"payment_id": "12", "user_id": "1001"}
    assert paid.payment_method.type == "bank_card"
    assert paid.payment_method.card.last4 == "4444"
    assert events["payment.canceled"].cancellation_details.reason == "expired_on_confirmation"
    assert events["refund.succeeded"].payment_id == succeeded["id"]
    assert events["refund.succeeded"].status == "succeeded"
