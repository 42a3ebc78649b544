"""The wallet in the bot: the balance screen and its pages, top-ups (typed amounts validated, YooKassa's
confirmation URL, Stars), and what billing's events make the bot say."""

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from academy_contracts.billing import (
    BalanceChangedV1,
    BalanceLowV1,
    PaymentFailedV1,
    PurchaseRefundedV1,
)
from academy_contracts.primitives import Money

from .learning_support import fund, has_text, register, wait_for_edit
from .test_notifications import NOTIFIED_WITHIN_S, notified_kinds, publish_as, wait_until_handled

pytestmark = pytest.mark.integration


async def test_the_balance_screen_pages_through_the_history(gateway, tg):
    user, learner = await register(gateway, tg)
    for n in range(1, 8):
        await fund(gateway, learner["id"], 10 * n, reason=f"test funds {n}")

    sent = await tg.send_command(user, "balance")
    screen = await tg.wait_for_reply(sent, has_text("Баланс: 280 монет"))

    assert screen.text.count("· +") == 5  # the 5 newest
    assert "+70 монет · корректировка" in screen.text
    assert "+20 монет" not in screen.text
    labels = [b["text"] for b in screen.inline_buttons()]
    assert "Старее →" in labels
    assert "← Новее" not in labels
    assert {"💳 Пополнить", "Подтверждать покупки: вкл"} <= set(labels)
    first_page = screen.text

    await tg.press_button_by_text(user, screen, "Старее →")
    older = await wait_for_edit(tg, screen, has_text("Операции (раньше)"))
    assert older.text.count("· +") == 2
    assert "+20 монет" in older.text
    assert "+10 монет" in older.text
    assert next(b["text"] for b in older.inline_buttons()) == "← Новее"
    assert "Старее →" not in [b["text"] for b in older.inline_buttons()]

    await tg.press_button_by_text(user, older, "← Новее")
    newer = await wait_for_edit(tg, screen, lambda m: "Операции (раньше)" not in (m.text or ""))
    assert newer.text == first_page


async def test_the_balance_menu_button_works_in_english(gateway, tg):
    user, _ = await register(gateway, tg, language_code="en")

    sent = await tg.send_text(user, "💰 Balance")
    screen = await tg.wait_for_reply(sent, has_text("Balance: 0 coins"))

    assert "No transactions yet" in screen.text
    assert "💳 Top up" in {b["text"] for b in screen.inline_buttons()}


async def test_a_typed_top_up_amount_is_validated_then_paid_through_yookassa(gateway, tg):
    user, learner = await register(gateway, tg)
    sent = await tg.send_command(user, "balance")
    screen = await tg.wait_for_reply(sent, has_text("Баланс:"))
    await tg.press_button_by_text(user, screen, "💳 Пополнить")
    menu = await wait_for_edit(tg, screen, has_text("Пополнение баланса"))
    assert {"100 ₽", "300 ₽", "500 ₽", "1 000 ₽", "✏️ Другая сумма"} <= {b["text"] for b in menu.inline_buttons()}
    await tg.press_button_by_text(user, menu, "✏️ Другая сумма")
    await tg.wait_for_message(user.id, has_text("Напишите сумму пополнения"), after=menu.message_id)

    for typed, expected in [
        ("много", "не похоже на сумму"),
        ("0", "Ноль рублей"),
        ("-500", "не может быть отрицательной"),
        ("99", "Минимальная сумма пополнения — 100 ₽"),
        ("100000", "не больше чем на 50 000 ₽"),
        ("99999999999999999999999", "не больше чем на 50 000 ₽"),
        ("700,50", "только на целое число рублей"),
    ]:
        sent = await tg.send_text(user, typed)
        reply = await tg.wait_for_reply(sent)
        assert expected in reply.text, (typed, reply.text)
    payments = await gateway.clients.billing.get(f"/internal/learners/{learner['id']}/payments")
    assert payments["items"] == []  # nothing was created for a bad amount

    sent = await tg.send_text(user, "1 500 ₽")
    pay = await tg.wait_for_reply(sent, has_text("Пополнение на 1 500 ₽"))

    button = pay.button("Оплатить 1 500 ₽")
    payments = await gateway.clients.billing.get(f"/internal/learners/{learner['id']}/payments")
    assert button["url"] == payments["items"][0]["confirmation_url"]
    assert Decimal(payments["items"][0]["amount"]) == Decimal(1500)

    # The conversation is over: a number now is just a message.
    sent = await tg.send_text(user, "500")
    await tg.wait_for_reply(await tg.send_command(user, "balance"), has_text("Баланс:"))
    assert not [m for m in await tg.messages(user.id, after=sent.message_id) if "Пополнение на" in (m.text or "")]


async def test_cancel_leaves_the_typed_amount(gateway, tg):
    user, learner = await register(gateway, tg)
    sent = await tg.send_command(user, "balance")
    screen = await tg.wait_for_reply(sent, has_text("Баланс:"))
    await tg.press_button_by_text(user, screen, "💳 Пополнить")
    menu = await wait_for_edit(tg, screen, has_text("Пополнение баланса"))
    await tg.press_button_by_text(user, menu, "✏️ Другая сумма")
    await tg.wait_for_message(user.id, has_text("Напишите сумму пополнения"), after=menu.message_id)

    sent = await tg.send_command(user, "cancel")
    await tg.wait_for_reply(sent, has_text("Отменено"))
    sent = await tg.send_text(user, "500")
    sent_after = await tg.send_command(user, "balance")
    await tg.wait_for_reply(sent_after, has_text("Баланс:"))

    assert not [m for m in await tg.messages(user.id, after=sent.message_id) if "Пополнение на" in (m.text or "")]
    payments = await gateway.clients.billing.get(f"/internal/learners/{learner['id']}/payments")
    assert payments["items"] == []


async def test_a_preset_top_up_sends_the_confirmation_url(gateway, tg):
    user, _ = await register(gateway, tg)
    sent = await tg.send_command(user, "balance")
    screen = await tg.wait_for_reply(sent, has_text("Баланс:"))
    await tg.press_button_by_text(user, screen, "💳 Пополнить")
    menu = await wait_for_edit(tg, screen, has_text("Пополнение баланса"))

    await tg.press_button_by_text(user, menu, "500 ₽")

    pay = await wait_for_edit(tg, screen, has_text("Пополнение на 500 ₽ (+500 монет)"))
    assert pay.button("Оплатить 500 ₽")["url"].startswith("http")


async def test_a_top_up_yookassa_cannot_take_now_is_answered_and_charges_nothing(gateway, tg, yookassa):
    from academy_yookassa_emulator.client import YooKassaEmulatorClient

    user, _ = await register(gateway, tg)
    sent = await tg.send_command(user, "balance")
    screen = await tg.wait_for_reply(sent, has_text("Баланс:"))
    await tg.press_button_by_text(user, screen, "💳 Пополнить")
    menu = await wait_for_edit(tg, screen, has_text("Пополнение баланса"))
    async with YooKassaEmulatorClient(yookassa.base_url) as control:
        await control.set_faults(api_errors=3, api_status=500)
        try:
            press = await tg.press_button_by_text(user, menu, "300 ₽")
            answer = await tg.wait_for_callback_answer(press, timeout=15)
        finally:
            await control.clear_faults()

    assert "Платёжная система сейчас недоступна" in (answer.text or "")
    assert answer.show_alert


async def open_stars_top_up(tg, user):
    """«💰 Баланс» → «💳 Пополнить» → «⭐ Пополнить звёздами»: (the balance screen, the Stars screen)."""
    sent = await tg.send_command(user, "balance")
    screen = await tg.wait_for_reply(sent, has_text("Баланс:"))
    await tg.press_button_by_text(user, screen, "💳 Пополнить")
    menu = await wait_for_edit(tg, screen, has_text("Пополнение баланса"))
    await tg.press_button_by_text(user, menu, "⭐ Пополнить звёздами")
    return screen, await wait_for_edit(tg, screen, has_text("Пополнение звёздами"))


async def test_topping_up_with_stars_credits_coins(gateway, tg):
    user, learner = await register(gateway, tg)
    screen, stars = await open_stars_top_up(tg, user)

    await tg.press_button_by_text(user, stars, "⭐ 100")
    invoice = await tg.wait_for_message(user.id, lambda m: m.invoice is not None, after=screen.message_id)
    assert invoice.invoice["total_amount"] == 100
    await tg.pay_invoice(user, invoice.message_id)

    credited = await tg.wait_for_message(user.id, has_text("Оплата получена: +"), after=invoice.message_id)
    wallet = await gateway.clients.billing.get(f"/internal/wallets/{learner['id']}")
    assert wallet["coins"] > 0
    assert f"баланс {wallet['coins']} монет" in credited.text
    history = await gateway.clients.billing.get(f"/internal/wallets/{learner['id']}/transactions")
    payments = await gateway.clients.billing.get(f"/internal/learners/{learner['id']}/payments")
    assert history["items"][0]["payment_id"] == payments["items"][0]["id"]
    assert payments["items"][0]["payment_method"] == "telegram_stars"
    # The Stars top-up was answered in the chat: billing's balance_changed for it is not told again,
    # while a later change the learner did not make is (and comes after it).
    await fund(gateway, learner["id"], 7)
    await tg.wait_for_message(user.id, has_text("Начислено на баланс: +7 монет"), timeout=NOTIFIED_WITHIN_S)
    assert not [m for m in await tg.messages(user.id) if "Баланс пополнен" in (m.text or "")]


async def test_a_stars_top_up_pressed_twice_sends_one_invoice(gateway, tg):
    user, _ = await register(gateway, tg)
    _, stars = await open_stars_top_up(tg, user)

    presses = [await tg.press_button_by_text(user, stars, "⭐ 50") for _ in range(2)]
    answers = [await tg.wait_for_callback_answer(press) for press in presses]
    await asyncio.sleep(0.5)

    assert [m.invoice["total_amount"] for m in await tg.messages(user.id) if m.invoice is not None] == [50]
    assert all(answer.text for answer in answers)


async def test_billing_events_the_learner_did_not_cause_are_told(gateway, tg, services, resources):
    user, learner = await register(gateway, tg)
    user_id = learner["id"]
    now = datetime.now(UTC)
    events = [
        BalanceChangedV1(
            user_id=user_id, transaction_id=9_000_000 + user_id, delta=500, balance=500, reason="top_up", changed_at=now
        ),
        # A purchase the learner just made in the chat: not told again.
        BalanceChangedV1(
            user_id=user_id,
            transaction_id=9_100_000 + user_id,
            delta=-460,
            balance=40,
            reason="course_purchase",
            changed_at=now,
        ),
        BalanceLowV1(user_id=user_id, balance=40, threshold=100, detected_at=now),
        PurchaseRefundedV1(
            purchase_id=9_200_000 + user_id,
            user_id=user_id,
            course_id=987_654,
            amount=Money(amount=Decimal(460), currency="RUB"),
            reason="operator_refund",
            refunded_at=now,
        ),
        PaymentFailedV1(
            payment_id=9_300_000 + user_id,
            user_id=user_id,
            amount=Money(amount=Decimal(500), currency="RUB"),
            provider="yookassa",
            reason="canceled_by_merchant",
            failed_at=now,
        ),
    ]
    event_ids = [uuid.uuid4() for _ in events]
    for event, event_id in zip(events, event_ids, strict=True):
        await publish_as(services, "billing", event, event_id=event_id)

    await tg.wait_for_message(
        user.id, has_text("Баланс пополнен: +500 монет, теперь 500 монет"), timeout=NOTIFIED_WITHIN_S
    )
    low = await tg.wait_for_message(user.id, has_text("На балансе осталось 40 монет"), timeout=NOTIFIED_WITHIN_S)
    assert {"💳 Пополнить", "💰 Баланс"} <= {b["text"] for b in low.inline_buttons()}
    refunded = await tg.wait_for_message(
        user.id, has_text("Покупка курса «Курс №987654» отменена"), timeout=NOTIFIED_WITHIN_S
    )
    assert "доступ к курсу закрыт" in refunded.text
    assert "монеты вернулись на баланс" in refunded.text  # a wallet purchase: coins, not money or Stars
    failed = await tg.wait_for_message(user.id, has_text("Пополнение на 500 ₽ не прошло"), timeout=NOTIFIED_WITHIN_S)
    assert "💳 Пополнить" in {b["text"] for b in failed.inline_buttons()}

    await wait_until_handled(resources, event_ids)
    kinds = await notified_kinds(resources, user_id, until={"balance_low"})
    assert f"balance:{9_100_000 + user_id}" not in kinds  # the purchase
    await tg.press_button_by_text(user, low, "💳 Пополнить")
    last = max(low.message_id, refunded.message_id, failed.message_id)
    await tg.wait_for_message(user.id, has_text("Пополнение баланса"), after=last)
