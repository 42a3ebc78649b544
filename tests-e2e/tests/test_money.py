"""Money, as a learner and an operator meet it, through the Bot API and YooKassa emulators, against every
service as a process and the demo catalog:

a paid course bought in Stars and started → 500 ₽ topped up through YooKassa's page and seen as 500 coins
→ a typed top-up → another course bought from the wallet with one confirmation → the low-balance
message → an operator refunds that purchase → the learner is told, gets the coins back and loses the
course.
"""

from __future__ import annotations

import time

import httpx
import pytest
from academy_runtime.testing import operator_token
from academy_tg_emulator.client import EmulatorClient, TestUser

from .helpers import api_get, button_like, press, screen, start, text_has

pytestmark = pytest.mark.e2e

STARS_COURSE = "Аппаратный маникюр"  # the demo catalog's 4 900 ₽ manicure course
STARS_PRICE = 2940  # 4 900 ₽ × 0.6 stars per rouble (the default rate), rounded up
WALLET_COURSE = "Смарт-педикюр за 60 минут"  # 2 900 ₽
WALLET_PRICE = 2900


async def open_course_card(tg: EmulatorClient, user: TestUser, category: str, title: str):
    await tg.send_text(user, "📚 Каталог курсов")
    catalog = await screen(tg, user, button_like(category))
    await press(tg, user, catalog, category)
    courses = await screen(tg, user, button_like(title[:30]))
    await press(tg, user, courses, title[:30])
    # The card: the course's title with its payment buttons (the catalog's home names the top course too).
    return await screen(tg, user, lambda m: title in (m.content or "") and button_like("⭐")(m))


async def pay_on_yookassas_page(e2e, url: str) -> None:
    """What the learner does on YooKassa's confirmation page: press «Pay»."""
    payment_id = url.rstrip("/").rsplit("/", 1)[1]
    async with httpx.AsyncClient(base_url=e2e.stack.yookassa_url, timeout=10) as page:
        response = await page.post(f"/checkout/{payment_id}/pay")
        assert response.status_code in (200, 303), response.text


async def test_a_learner_pays_in_stars_tops_up_buys_from_the_wallet_and_an_operator_refunds(tg, e2e):  # noqa: PLR0915 - one story
    marina = TestUser.new("Марина", language_code="ru")
    await start(tg, marina, full_name="Марина Соколова", city="Казань")
    learner = await api_get(e2e, "users", f"/internal/users/by-telegram/{marina.id}")

    # 1. A paid course's card: its price in roubles and in Stars; paid in Stars; the course opens.
    card = await open_course_card(tg, marina, "Маникюр", STARS_COURSE)
    assert "4 900 ₽" in card.content
    assert "⭐ 2\u00a0940" in card.content
    await press(tg, marina, card, "Оплатить ⭐ 2\u00a0940")
    invoice = await screen(tg, marina, lambda m: m.invoice is not None)
    assert (invoice.invoice["currency"], invoice.invoice["total_amount"]) == ("XTR", STARS_PRICE)
    paid_at = time.monotonic()
    await tg.pay_invoice(marina, invoice.message_id)
    await screen(tg, marina, text_has("Оплата получена"))
    opened = await screen(tg, marina, text_has("открыт", STARS_COURSE))
    open_latency = time.monotonic() - paid_at
    await press(tg, marina, opened, "Урок 1")
    await screen(tg, marina, button_like("Урок пройден"))  # the paid lesson opens: progress enrolled her
    print(f"successful_payment → «course open» in the bot: {open_latency * 1000:.0f} ms")

    # 2. The wallet: empty; 500 ₽ through YooKassa's page becomes 500 coins, and the bot says so.
    await tg.send_text(marina, "💰 Баланс")
    wallet = await screen(tg, marina, text_has("Баланс: 0 монет"))
    await press(tg, marina, wallet, "Пополнить")
    amounts = await screen(tg, marina, button_like("500 ₽"))
    await press(tg, marina, amounts, "500 ₽")
    pay = await screen(tg, marina, button_like("Оплатить 500 ₽"))
    [url] = [b["url"] for b in pay.inline_buttons() if "url" in b]
    await pay_on_yookassas_page(e2e, url)
    await screen(tg, marina, text_has("Баланс пополнен", "+500 монет", "теперь 500 монет"), timeout=30)
    await tg.send_text(marina, "💰 Баланс")
    await screen(tg, marina, text_has("Баланс: 500 монет"))

    # 3. A typed amount: what the next course still needs.
    wallet = await screen(tg, marina, text_has("Баланс: 500 монет"))
    await press(tg, marina, wallet, "Пополнить")
    amounts = await screen(tg, marina, button_like("Другая сумма"))
    await press(tg, marina, amounts, "Другая сумма")
    await screen(tg, marina, text_has("Напишите сумму"))
    await tg.send_text(marina, "0")
    await screen(tg, marina, text_has("Ноль рублей"))
    await tg.send_text(marina, str(WALLET_PRICE - 500))
    pay = await screen(tg, marina, button_like("Оплатить 2 400 ₽"))
    [url] = [b["url"] for b in pay.inline_buttons() if "url" in b]
    await pay_on_yookassas_page(e2e, url)
    await screen(tg, marina, text_has("Баланс пополнен", "теперь 2 900 монет"), timeout=30)

    # 4. Bought from the wallet with one confirmation; the course opens; the balance is low now.
    card = await open_course_card(tg, marina, "Педикюр", WALLET_COURSE)
    await press(tg, marina, card, "Купить за 2 900 монет")
    confirm = await screen(tg, marina, button_like("Подтвердить покупку"))
    await press(tg, marina, confirm, "Подтвердить покупку")
    await screen(tg, marina, text_has("куплен", "Баланс: 0 монет"))
    await screen(tg, marina, text_has("открыт", WALLET_COURSE), timeout=30)
    await screen(tg, marina, text_has("На балансе осталось 0 монет"), timeout=30)

    # 5. An operator refunds that purchase: the learner is told, gets the coins back, loses the course.
    purchases = await api_get(e2e, "billing", f"/internal/learners/{learner['id']}/purchases")
    [bought] = [p for p in purchases if p["payment_id"] is None]
    token = operator_token(e2e.platform, name="alice", roles=("finance",), audience="billing")
    async with httpx.AsyncClient(base_url=e2e.stack.api_url("billing"), timeout=20) as operator:
        refund = await operator.post(
            f"/internal/purchases/{bought['id']}/refund",
            json={"reason": "курс не подошёл"},
            headers={"authorization": f"Bearer {token}", "Idempotency-Key": "e2e-refund-1"},
        )
    assert refund.status_code == 200, refund.text
    await screen(
        tg,
        marina,
        text_has("отменена", WALLET_COURSE, "монеты вернулись на баланс", "доступ к курсу закрыт"),
        timeout=30,
    )
    await screen(tg, marina, text_has("Возврат на баланс", "+2 900 монет"), timeout=30)
    course = await api_get(e2e, "progress", f"/internal/learners/{learner['id']}/courses/{bought['course_id']}")
    assert course["enrolled"] is False
    stars_course = [p for p in purchases if p["payment_id"] is not None]
    assert [p["status"] for p in stars_course] == ["active"]
    report_token = operator_token(e2e.platform, name="alice", roles=("finance",), audience="billing")
    async with httpx.AsyncClient(base_url=e2e.stack.api_url("billing"), timeout=20) as operator:
        report = (
            await operator.get("/internal/reconciliation", headers={"authorization": f"Bearer {report_token}"})
        ).json()
    assert report["consistent"], report["differences"]
