"""Paying for courses through the bot: the paid card, Telegram Stars end to end, pre-checkout refusals,
buying with coins (with and without the confirmation tap), not enough coins, against real billing."""

import asyncio
import time
from decimal import Decimal

import pytest
from academy_gateway_bot.i18n import use_locale
from academy_gateway_bot.screens import format_amount
from academy_runtime.client import ServiceClient

from .learning_support import (
    catalog_editor,
    fund,
    has_text,
    new_category,
    publish_course,
    register,
    wait_for_edit,
    wait_for_offer,
    wait_until_progress_knows,
)
from .test_learning import open_course_card

pytestmark = pytest.mark.integration

OPENED_WITHIN_S = 30


def ru(amount: int) -> str:
    with use_locale("ru"):
        return format_amount(Decimal(amount))


async def paid_course(gateway, *, price: str = "4900", lessons: int = 2) -> tuple[str, dict]:
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, price=price, lessons=lessons, free_lessons=())
    await wait_until_progress_knows(gateway, course)
    return category, course


async def enrolled(gateway, user_id: int, course_id: int, timeout: float = OPENED_WITHIN_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = await gateway.clients.progress.get(f"/internal/learners/{user_id}/courses/{course_id}")
        if state["enrolled"]:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_paid_course_card_shows_its_price_in_roubles_stars_and_coins(gateway, tg):
    category, course = await paid_course(gateway)
    user, learner = await register(gateway, tg)
    offer = await wait_for_offer(gateway, learner["id"], course["id"])

    card = await open_course_card(gateway, tg, user, category, course)

    assert f"Цена: 4 900 ₽ · ⭐ {ru(offer['stars_price'])}" in card.text
    assert "На вашем балансе: 0 монет" in card.text
    labels = [b["text"] for b in card.inline_buttons()]
    assert f"Оплатить ⭐ {ru(offer['stars_price'])}" in labels
    assert "Пополнить баланс" in labels  # nothing in the wallet: no "buy for coins"
    assert not any(label.startswith("Купить за") for label in labels)

    # With enough coins, the card offers the wallet instead of the top-up.
    await fund(gateway, learner["id"], offer["coins_price"])
    await tg.press_button_by_text(user, card, "⬅️ Назад")
    page = await wait_for_edit(tg, card, has_text("страница 1 из"))
    label = next(b["text"] for b in page.inline_buttons() if b["text"].startswith(course["title"]))
    await tg.press_button_by_text(user, page, label)
    card = await wait_for_edit(tg, card, has_text("Цена:"))
    labels = [b["text"] for b in card.inline_buttons()]
    assert f"Купить за {ru(offer['coins_price'])} монет" in labels
    assert "Пополнить баланс" not in labels


async def test_buying_a_course_with_stars_opens_it_with_its_first_lesson(gateway, tg):
    category, course = await paid_course(gateway)
    user, learner = await register(gateway, tg)
    offer = await wait_for_offer(gateway, learner["id"], course["id"])
    card = await open_course_card(gateway, tg, user, category, course)

    press = await tg.press_button_by_text(user, card, f"Оплатить ⭐ {ru(offer['stars_price'])}")
    answer = await tg.wait_for_callback_answer(press)
    invoice = await tg.wait_for_message(user.id, lambda m: m.invoice is not None, after=card.message_id)

    assert answer.text == "Счёт в звёздах отправлен 👇"
    assert invoice.invoice["currency"] == "XTR"
    assert invoice.invoice["total_amount"] == offer["stars_price"]
    call = (await tg.calls("sendInvoice"))[-1]
    assert call.params.get("provider_token", "") == ""  # digital goods: no payment provider
    assert len(call.params["prices"]) == 1

    await tg.pay_invoice(user, invoice.message_id)

    paid = await tg.wait_for_message(user.id, has_text("Оплата получена, открываем курс"), after=invoice.message_id)
    assert course["title"] in paid.text
    opened = await tg.wait_for_message(
        user.id, has_text(f"Курс «{course['title']}» открыт"), after=invoice.message_id, timeout=OPENED_WITHIN_S
    )
    first = next(b["text"] for b in opened.inline_buttons() if b["text"].startswith("▶️ Урок 1"))
    assert await enrolled(gateway, learner["id"], course["id"])

    await tg.press_button_by_text(user, opened, first)
    lesson = await tg.wait_for_message(user.id, has_text("Урок 1 из 2"), after=opened.message_id)
    assert "✅ Урок пройден" in {b["text"] for b in lesson.inline_buttons()}  # open, not locked

    # The card now shows the course as the learner's own.
    card = await open_course_card(gateway, tg, user, category, course)
    assert "Ваш прогресс" in card.text
    assert not any(b["text"].startswith("Оплатить") for b in card.inline_buttons())


async def test_a_learner_over_the_message_limit_still_gets_the_course_they_paid_for(gateway, tg, resources):
    category, course = await paid_course(gateway)
    user, learner = await register(gateway, tg)
    offer = await wait_for_offer(gateway, learner["id"], course["id"])
    card = await open_course_card(gateway, tg, user, category, course)
    press = await tg.press_button_by_text(user, card, f"Оплатить ⭐ {ru(offer['stars_price'])}")
    await tg.wait_for_callback_answer(press)
    invoice = await tg.wait_for_message(user.id, lambda m: m.invoice is not None, after=card.message_id)
    limit = resources.settings.throttle_updates_per_minute
    for n in range(limit + 1):  # past the per-minute limit of messages and buttons
        await tg.send_text(user, f"сообщение {n}")
    await tg.wait_for_message(user.id, has_text("Слишком много сообщений"), after=invoice.message_id)

    # Telegram's successful_payment is not a learner's chatter: it is never dropped.
    await tg.send_successful_payment(user, invoice_message_id=invoice.message_id)
    paid = await tg.wait_for_message(user.id, has_text("Оплата получена, открываем курс"), after=invoice.message_id)
    # and a button pressed past the limit is answered (its spinner stops), not left hanging
    late_press = await tg.press_button_by_text(user, card, "⬅️ Назад")
    answer = await tg.wait_for_callback_answer(late_press)

    assert course["title"] in paid.text
    assert answer is not None
    assert await enrolled(gateway, learner["id"], course["id"])


async def test_the_stars_button_pressed_ten_times_sends_one_invoice(gateway, tg):
    category, course = await paid_course(gateway)
    user, learner = await register(gateway, tg)
    offer = await wait_for_offer(gateway, learner["id"], course["id"])
    card = await open_course_card(gateway, tg, user, category, course)

    presses = [await tg.press_button_by_text(user, card, f"Оплатить ⭐ {ru(offer['stars_price'])}") for _ in range(10)]
    answers = [await tg.wait_for_callback_answer(press) for press in presses]
    await asyncio.sleep(0.5)

    invoices = [m for m in await tg.messages(user.id) if m.invoice is not None]
    assert len(invoices) == 1
    assert all(answer.text == "Счёт в звёздах отправлен 👇" for answer in answers)


async def test_pre_checkout_is_refused_when_the_price_changed_with_the_reason(gateway, tg):
    category, course = await paid_course(gateway)
    user, learner = await register(gateway, tg)
    offer = await wait_for_offer(gateway, learner["id"], course["id"])
    card = await open_course_card(gateway, tg, user, category, course)
    await tg.press_button_by_text(user, card, f"Оплатить ⭐ {ru(offer['stars_price'])}")
    invoice = await tg.wait_for_message(user.id, lambda m: m.invoice is not None, after=card.message_id)

    await catalog_editor().patch(f"/internal/courses/{course['id']}", json={"price": "6900"})
    await wait_for_offer(gateway, learner["id"], course["id"], lambda o: o["stars_price"] != offer["stars_price"])
    query = await tg.send_pre_checkout_query(user, invoice_message_id=invoice.message_id)
    answer = await tg.wait_for_pre_checkout_answer(query)

    assert answer["ok"] is False
    assert answer["error_message"].startswith("Цена курса изменилась")
    assert not await enrolled(gateway, learner["id"], course["id"], timeout=0.5)


async def test_pre_checkout_is_refused_when_the_course_was_archived(gateway, tg):
    category, course = await paid_course(gateway)
    user, learner = await register(gateway, tg)
    offer = await wait_for_offer(gateway, learner["id"], course["id"])
    card = await open_course_card(gateway, tg, user, category, course)
    await tg.press_button_by_text(user, card, f"Оплатить ⭐ {ru(offer['stars_price'])}")
    invoice = await tg.wait_for_message(user.id, lambda m: m.invoice is not None, after=card.message_id)

    await catalog_editor().post(f"/internal/courses/{course['id']}/archive")
    await wait_for_offer(gateway, learner["id"], course["id"], lambda o: not o["on_sale"])
    query = await tg.send_pre_checkout_query(user, invoice_message_id=invoice.message_id)
    answer = await tg.wait_for_pre_checkout_answer(query)

    assert answer["ok"] is False
    assert answer["error_message"] == "Курс больше не продаётся — звёзды не списаны."


async def test_a_coins_button_of_a_course_no_longer_on_sale_is_answered_and_charges_nothing(gateway, tg):
    category, course = await paid_course(gateway)
    user, learner = await register(gateway, tg)
    offer = await wait_for_offer(gateway, learner["id"], course["id"])
    coins = offer["coins_price"]
    await fund(gateway, learner["id"], coins)
    card = await open_course_card(gateway, tg, user, category, course)

    await catalog_editor().post(f"/internal/courses/{course['id']}/archive")
    await wait_for_offer(gateway, learner["id"], course["id"], lambda o: not o["on_sale"])
    press = await tg.press_button_by_text(user, card, f"Купить за {ru(coins)} монет")  # the card is stale now
    answer = await tg.wait_for_callback_answer(press)

    assert "не продаётся" in (answer.text or "")
    assert await _coins(gateway, learner["id"]) == coins


async def test_pre_checkout_of_an_invoice_that_is_not_ours_is_refused_in_words(gateway, tg):
    user, _ = await register(gateway, tg)

    query = await tg.send_pre_checkout_query(user, currency="XTR", total_amount=10, invoice_payload="not-ours")
    answer = await tg.wait_for_pre_checkout_answer(query)

    assert answer["ok"] is False
    assert answer["error_message"].startswith("Этот счёт нам неизвестен")


async def test_pre_checkout_is_answered_in_time_even_when_billing_is_down(gateway, tg, monkeypatch):
    user, _ = await register(gateway, tg)
    tokens = gateway.clients.billing.tokens
    unreachable = ServiceClient("billing", "http://127.0.0.1:9", tokens, timeout_s=1.0)
    monkeypatch.setattr(gateway.clients, "billing", unreachable)
    try:
        started = time.monotonic()
        query = await tg.send_pre_checkout_query(user, currency="XTR", total_amount=10, invoice_payload="any")
        answer = await tg.wait_for_pre_checkout_answer(query, timeout=10)
    finally:
        await unreachable.aclose()

    assert answer["ok"] is False
    assert answer["error_message"].startswith("Платёжная система не ответила")
    assert time.monotonic() - started < 10  # Telegram's limit


def test_the_bot_asks_telegram_for_pre_checkout_queries(gateway):
    assert {"message", "callback_query", "pre_checkout_query"} <= set(gateway.dispatcher.resolve_used_update_types())


async def test_a_stars_payment_for_a_course_already_owned_is_returned(gateway, tg):
    category, course = await paid_course(gateway)
    user, learner = await register(gateway, tg)
    offer = await wait_for_offer(gateway, learner["id"], course["id"])
    card = await open_course_card(gateway, tg, user, category, course)
    await tg.press_button_by_text(user, card, f"Оплатить ⭐ {ru(offer['stars_price'])}")
    invoice = await tg.wait_for_message(user.id, lambda m: m.invoice is not None, after=card.message_id)
    # Meanwhile the course was bought from the wallet (another device, another invoice)...
    await fund(gateway, learner["id"], offer["coins_price"])
    await gateway.clients.billing.post(
        f"/internal/learners/{learner['id']}/purchases",
        json={"course_id": course["id"], "coins_price": offer["coins_price"]},
        idempotency_key=f"wallet-{learner['id']}",
    )

    # ... and Telegram still completes the Stars payment (approved before the purchase).
    paid = await tg.send_successful_payment(user, invoice_message_id=invoice.message_id)

    reply = await tg.wait_for_reply(paid, has_text("уже есть"))
    assert f"⭐ {ru(offer['stars_price'])} вернули" in reply.text
    charge = paid.successful_payment["telegram_payment_charge_id"]
    payment = next(p for p in await tg.payments() if p["telegram_payment_charge_id"] == charge)
    assert payment["refunded"] is True  # billing gave the Stars back through refundStarPayment


async def test_buying_with_coins_asks_once_then_opens_the_course(gateway, tg):
    category, course = await paid_course(gateway)
    user, learner = await register(gateway, tg)
    offer = await wait_for_offer(gateway, learner["id"], course["id"])
    coins = offer["coins_price"]
    await fund(gateway, learner["id"], coins + 50)
    card = await open_course_card(gateway, tg, user, category, course)

    await tg.press_button_by_text(user, card, f"Купить за {ru(coins)} монет")
    confirm = await wait_for_edit(tg, card, has_text("Купить курс"))
    assert "после покупки останется 50 монет" in confirm.text
    assert await _coins(gateway, learner["id"]) == coins + 50  # nothing charged before the confirmation

    await tg.press_button_by_text(user, confirm, f"✅ Подтвердить покупку за {ru(coins)} монет")
    bought = await wait_for_edit(tg, card, has_text("куплен за"))
    assert "Баланс: 50 монет" in bought.text
    opened = await tg.wait_for_message(
        user.id, has_text(f"Курс «{course['title']}» открыт"), after=card.message_id, timeout=OPENED_WITHIN_S
    )
    assert any(b["text"].startswith("▶️ Урок 1") for b in opened.inline_buttons())
    assert await _coins(gateway, learner["id"]) == 50


async def test_with_confirmation_off_one_tap_buys_and_a_refund_closes_the_course(gateway, tg, operator):
    category, course = await paid_course(gateway)
    user, learner = await register(gateway, tg)
    offer = await wait_for_offer(gateway, learner["id"], course["id"])
    coins = offer["coins_price"]
    await fund(gateway, learner["id"], coins)

    # The setting, from the balance screen.
    sent = await tg.send_text(user, "💰 Баланс")
    balance = await tg.wait_for_reply(sent, has_text("Подтверждать покупки: вкл"))
    press = await tg.press_button_by_text(user, balance, "Подтверждать покупки: вкл")
    assert "одно нажатие" in (await tg.wait_for_callback_answer(press)).text
    await wait_for_edit(tg, balance, has_text("Подтверждать покупки: выкл"))
    wallet = await gateway.clients.billing.get(f"/internal/wallets/{learner['id']}")
    assert wallet["confirm_purchases"] is False

    card = await open_course_card(gateway, tg, user, category, course)
    await tg.press_button_by_text(user, card, f"Купить за {ru(coins)} монет")
    await wait_for_edit(tg, card, has_text("куплен за"))
    await tg.wait_for_message(
        user.id, has_text(f"Курс «{course['title']}» открыт"), after=card.message_id, timeout=OPENED_WITHIN_S
    )
    assert await _coins(gateway, learner["id"]) == 0

    # An operator reverses the purchase: the learner is told, the coins come back, the course closes.
    purchases = await gateway.clients.billing.get(f"/internal/learners/{learner['id']}/purchases")
    await operator.post(
        f"/internal/purchases/{purchases[0]['id']}/refund", json={"reason": "test refund"}, idempotency_key="r1"
    )
    told = await tg.wait_for_message(
        user.id, has_text(f"Покупка курса «{course['title']}» отменена"), timeout=OPENED_WITHIN_S
    )
    assert "доступ к курсу закрыт" in told.text
    assert "монеты вернулись на баланс" in told.text
    await tg.wait_for_message(user.id, has_text(f"Возврат на баланс: +{ru(coins)} монет"), timeout=OPENED_WITHIN_S)


async def test_not_enough_coins_offers_the_top_up_of_the_difference(gateway, tg):
    category, course = await paid_course(gateway, price="700")
    user, learner = await register(gateway, tg)
    offer = await wait_for_offer(gateway, learner["id"], course["id"])
    coins = offer["coins_price"]
    await fund(gateway, learner["id"], coins)
    card = await open_course_card(gateway, tg, user, category, course)
    await fund(gateway, learner["id"], -(coins - 100))  # spent elsewhere since the card was shown

    await tg.press_button_by_text(user, card, f"Купить за {ru(coins)} монет")

    refusal = await wait_for_edit(tg, card, has_text("не хватает"))
    assert "На балансе 100 монет" in refusal.text
    assert await _coins(gateway, learner["id"]) == 100
    await tg.press_button_by_text(user, refusal, "Пополнить баланс")
    top_up = await wait_for_edit(tg, card, has_text("Пополнение баланса"))
    missing = coins - 100
    assert f"{ru(missing)} ₽ — столько не хватает" in {b["text"] for b in top_up.inline_buttons()}


async def _coins(gateway, user_id: int) -> int:
    wallet = await gateway.clients.billing.get(f"/internal/wallets/{user_id}")
    return int(wallet["coins"])
