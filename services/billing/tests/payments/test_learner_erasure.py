"""An erased learner's money records are kept and pseudonymised (issue 10), and the phone of a receipt is
never stored.

The users service runs in this process (its app, schema and relay), so the learner is registered there with
distinctive values and billing asks it for the receipt's phone as in production. The learner tops up
through the YooKassa emulator (the card is in YooKassa's answer), pays a course in Stars through the Bot API
emulator (the payer's Telegram id), buys another from the wallet, gets an operator's adjustment and a refund
whose reasons name them, and leaves a YooKassa payment and a Stars invoice open. `users.user_erased.v2` then
goes through billing's real `learner-registry` consumer. Every table of the schema (each row as text) and
Redis are searched: the learner's phone, Telegram id, name, city and card are nowhere; amounts, dates and
provider ids are all still there; the learner id is kept on the financial rows (see `learners.erasure` for
why) and nowhere else. The money of a payment started before the erasure and paid after it goes back.
"""

import asyncio
import re
from collections.abc import AsyncIterator, Collection, Iterable
from datetime import UTC, datetime

import httpx
import pytest
from academy_billing.learners.consumers import learner_registry
from academy_billing.learners.erasure import REDACTED_REASON, sweep_erased_learners_once
from academy_billing.models import KnownLearner, Payment, ProviderEvent, messaging
from academy_billing.payments.service import reconcile_once
from academy_billing.wallet.consumers import achievement_rewards
from academy_contracts import build_event
from academy_contracts.gamification import AchievementUnlockedV1
from academy_contracts.users import UserErasedV2
from academy_runtime.auth import TokenCache
from academy_runtime.client import ServiceClient
from academy_runtime.consumer import ConsumerRuntime
from academy_runtime.inprocess import InProcessStack
from academy_runtime.migrations import migrate
from academy_runtime.resources import Resources
from academy_runtime.testing import (
    Needle,
    TestPlatform,
    cleanup_broker,
    redis_entries_mentioning,
    rows_mentioning,
    schema_rows,
    service_token,
)
from academy_tg_emulator import TestUser
from academy_users.app import service as users_service
from sqlalchemy import select, text, update

pytestmark = pytest.mark.integration

# The learner, with values nobody else has: any of them found after the erasure is a leak.
TELEGRAM_ID = 5_550_123_987
PHONE = "+79995550123"
FULL_NAME = "Евпраксия Жмуркина"
CITY = "Усть-Илимск"
# What would identify the person (the card: YooKassa's emulator pays with 5555 55.. ..44 44, 12/2030).
DISTINCTIVE = (PHONE.lstrip("+"), str(TELEGRAM_ID), "Жмуркин", CITY, "555555", "Bank card", "first6", "last4")
FINANCIAL_TABLES = {"payments", "wallets", "wallet_transactions", "purchases", "refunds", "learners", "outbox"}


@pytest.fixture(scope="module")
async def users(platform: TestPlatform, resources: Resources) -> AsyncIterator[InProcessStack]:
    """The users service in this process; billing's users client points at it while these tests run."""
    stack = InProcessStack(platform, [users_service])
    async with stack:
        # Learner ids nobody else has (a search for "2" would find every timestamp): the users service
        # numbers this run's learners from 1_987_654_321.
        async with stack["users"].resources.engine.begin() as conn:
            await conn.execute(text("SELECT setval(pg_get_serial_sequence('users.users', 'id'), 1987654320)"))
        providers = resources.extras["providers"]
        replaced = providers.users
        providers.users = ServiceClient(
            "users", "http://users", TokenCache.from_settings(resources.settings), transport=stack["users"].transport()
        )
        queues, database_url = stack.queue_names(), stack["users"].settings.database_url
        yield stack
        await providers.users.aclose()
        providers.users = replaced
    await cleanup_broker(platform.infra.rabbitmq_url, platform.run_id, queues, delete_exchange=False)
    # Billing's other tests expect no users tables in the run's database.
    await asyncio.to_thread(migrate, users_service, "downgrade", "base", database_url=database_url)


async def _register(users: InProcessStack, platform: TestPlatform, *, telegram_id: int, phone: str) -> int:
    token = service_token(platform, caller="gateway-bot", audience="users")
    async with httpx.AsyncClient(
        transport=users["users"].transport(), base_url="http://users", headers={"authorization": f"Bearer {token}"}
    ) as client:
        response = await client.post(
            "/internal/users/register",
            json={
                "telegram_id": telegram_id,
                "full_name": FULL_NAME,
                "phone": phone,
                "city": CITY,
                "consent": {"version": "1", "accepted_at": "2026-01-01T00:00:00Z"},
            },
        )
    assert response.status_code == 200, response.text
    return int(response.json()["learner"]["id"])


@pytest.fixture
async def billing_consumers(resources: Resources) -> AsyncIterator[ConsumerRuntime]:
    runtime = ConsumerRuntime(resources, messaging, [learner_registry, achievement_rewards])
    await runtime.start()
    yield runtime
    await runtime.stop()


async def _rows_with(
    resources: Resources, values: Iterable[Needle], *, except_tables: Collection[str] = ()
) -> list[str]:
    """The rows of the billing schema that hold one of `values` (each row as text)."""
    async with resources.sessionmaker() as session:
        return await rows_mentioning(session, "billing", values, except_tables=except_tables)


async def _redis_with(resources: Resources, values: Iterable[Needle]) -> list[str]:
    """The Redis keys of the run whose name or value holds one of `values`."""
    return await redis_entries_mentioning(resources.redis, resources.settings.redis_prefix, values)


async def _erase(publish, eventually, resources: Resources, user_id: int) -> None:
    event = build_event(UserErasedV2(user_id=user_id, erased_at=datetime(2026, 4, 1, tzinfo=UTC)))
    await publish(event.to_json(), event.type)

    async def erased() -> bool:
        async with resources.sessionmaker() as session:
            learner = await session.get(KnownLearner, user_id)
            return learner is not None and learner.erased_at is not None

    await eventually(erased, what="erasure handled")


async def _handled(resources: Resources, event_id: str, consumer: str) -> bool:
    inbox = messaging.inbox
    async with resources.sessionmaker() as session:
        found = await session.scalar(
            select(inbox.c.event_id).where(inbox.c.event_id == event_id, inbox.c.consumer == consumer)
        )
    return found is not None


async def _pay_top_up(http, yk, user_id: int, amount: int, key: str) -> dict:
    created = await http.post(
        f"/internal/learners/{user_id}/top-ups", json={"amount_rub": amount}, headers={"Idempotency-Key": key}
    )
    assert created.status_code == 200, created.text
    return created.json()


async def _settled(resources: Resources, payment_id: int, *statuses: str) -> bool:
    async with resources.sessionmaker() as session:
        payment = await session.get(Payment, payment_id, populate_existing=True)
        return payment is not None and payment.status in statuses


async def test_a_receipts_phone_is_sent_to_yookassa_and_stored_nowhere_in_billing(
    users, platform, resources, http, yk, key, eventually, outbox
):
    user_id = await _register(users, platform, telegram_id=5_550_111_222, phone="+79995550177")

    body = await _pay_top_up(http, yk, user_id, 700, key())
    await yk.pay(body["external_id"])
    await eventually(lambda: _settled(resources, body["id"], "succeeded"), what="top-up settled")

    sent = await yk.payment(body["external_id"])
    assert sent.receipt["customer"] == {"phone": "79995550177"}  # the phone went where the law wants it
    async with resources.sessionmaker() as session:
        provider_events = (await schema_rows(session, "billing"))["provider_events"]
    assert any(str(body["external_id"]) in row for row in provider_events)
    # Nor in the outbox, provider events or answers.
    assert await _rows_with(resources, ("79995550177", "9995550177")) == []
    assert await _redis_with(resources, ("9995550177",)) == []


async def test_an_erased_learners_records_are_kept_without_the_person(  # noqa: PLR0915 - one journey, then the search
    users,
    platform,
    resources,
    billing_consumers,
    publish,
    eventually,
    http,
    operator,
    yk,
    key,
    put_course,
    pay_stars,
    tg,
    db,
):
    user_id = await _register(users, platform, telegram_id=TELEGRAM_ID, phone=PHONE)
    learner_id = re.compile(rf"(?<!\d){user_id}(?!\d)")
    learner = TestUser(id=TELEGRAM_ID, first_name="Евпраксия", last_name="Жмуркина")
    await put_course(701, "600.00", "XTR", title="Ламинирование ресниц")
    await put_course(702, "300.00", title="Дизайн бровей")

    # A YooKassa top-up, paid with the card.
    top_up = await _pay_top_up(http, yk, user_id, 1000, key())
    await yk.pay(top_up["external_id"])
    await eventually(lambda: _settled(resources, top_up["id"], "succeeded"), what="top-up settled")
    # A course paid in Stars, then refunded by an operator whose reason names the learner.
    invoice = (
        await http.post(
            f"/internal/learners/{user_id}/stars-invoices",
            json={"purpose": "course", "course_id": 701},
            headers={"Idempotency-Key": key()},
        )
    ).json()
    paid = await http.post("/internal/stars/payments", json=await pay_stars(learner, user_id, invoice))
    assert paid.json()["outcome"] == "course_purchased", paid.text
    refunded = await operator.post(
        f"/internal/payments/{invoice['payment_id']}/refunds",
        json={"reason": f"Просьба {FULL_NAME}, тел. {PHONE}"},
        headers={"Idempotency-Key": key()},
    )
    assert refunded.json()["status"] == "succeeded", refunded.text
    # A course bought from the wallet, with the gateway's kind of key (a message's names the chat).
    bought = await http.post(
        f"/internal/learners/{user_id}/purchases",
        json={"course_id": 702, "coins_price": 300},
        headers={"Idempotency-Key": f"tg:1:message:{TELEGRAM_ID}:17:1767225600"},
    )
    assert bought.status_code == 200, bought.text
    # An operator's adjustment whose reason names the learner.
    adjusted = await operator.post(
        f"/internal/wallets/{user_id}/adjustments",
        json={"delta": 50, "reason": f"Компенсация: {FULL_NAME}, {CITY}"},
        headers={"Idempotency-Key": key()},
    )
    assert adjusted.status_code == 200, adjusted.text
    # Open at the erasure: a YooKassa top-up on its page, a Stars invoice not paid yet.
    open_top_up = await _pay_top_up(http, yk, user_id, 500, key())
    open_invoice = (
        await http.post(
            f"/internal/learners/{user_id}/stars-invoices",
            json={"purpose": "top_up", "stars": 100},
            headers={"Idempotency-Key": key()},
        )
    ).json()
    # A provider record as billing kept it before this release: YooKassa's whole object, card and all (it is
    # kept without them now, `payments.personal_data`).
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(
            update(ProviderEvent)
            .where(ProviderEvent.payment_id == top_up["id"])
            .values(payload=(await yk.payment(top_up["external_id"])).api)
        )
    for value in (str(TELEGRAM_ID), "Жмуркин", "555555", PHONE.lstrip("+")):  # the search below finds them
        assert await _rows_with(resources, (value,)), value
    money_before = [(p.id, p.amount, p.currency, p.external_id, p.paid_at) for p in await db("payments")]

    await _erase(publish, eventually, resources, user_id)

    # The open Stars invoice is cancelled: Telegram is told it expired.
    pre_checkout = await http.post(
        "/internal/stars/pre-checkout",
        json={
            "payload": open_invoice["payload"],
            "user_id": user_id,
            "currency": "XTR",
            "total_amount": open_invoice["amount"],
        },
    )
    assert pre_checkout.json() == {"ok": False, "reason": "expired"}
    # The open YooKassa payment is paid after the erasure: the money goes back, no coin is credited.
    coins = (await http.get(f"/internal/wallets/{user_id}")).json()["coins"]
    await yk.pay(open_top_up["external_id"])
    await eventually(lambda: _settled(resources, open_top_up["id"], "refunded"), what="late payment refunded")
    late = await yk.payment(open_top_up["external_id"])
    assert late.refunded_amount is not None
    assert (late.refunded_amount.value, late.status) == (late.amount.value, "succeeded")  # the money is back
    assert (await http.get(f"/internal/wallets/{user_id}")).json()["coins"] == coins
    # A late achievement brings no coins.
    unlocked = build_event(
        AchievementUnlockedV1(
            user_id=user_id,
            achievement_id=3,
            code="first_course_completed",
            title="Первый курс",
            points=10,
            unlocked_at=datetime(2026, 4, 2, tzinfo=UTC),
        )
    )
    await publish(unlocked.to_json(), unlocked.type)
    await eventually(lambda: _handled(resources, unlocked.id, "achievement-rewards"), what="achievement handled")
    assert (await http.get(f"/internal/wallets/{user_id}")).json()["coins"] == coins
    assert await sweep_erased_learners_once(resources) == {"pseudonymised": 1, "held_back": 0}

    assert await _rows_with(resources, DISTINCTIVE) == []
    assert await _rows_with(resources, (learner_id,), except_tables=FINANCIAL_TABLES) == []
    assert await _redis_with(resources, DISTINCTIVE) == []
    # What the law keeps: every payment with its amount, currency, provider id and time.
    money_after = {p.id: (p.id, p.amount, p.currency, p.external_id, p.paid_at) for p in await db("payments")}
    for kept in money_before:
        if kept[0] not in (open_top_up["id"], open_invoice["payment_id"]):
            assert money_after[kept[0]] == kept
    payments = {p.id: p for p in await db("payments", user_id=user_id)}
    assert payments[open_invoice["payment_id"]].status == "canceled"
    assert all(p.idempotence_key.startswith("erased:") for p in payments.values())
    refunds = await db("refunds", user_id=user_id)
    assert {r.reason for r in refunds} == {REDACTED_REASON, "learner_erased"}
    assert payments[invoice["payment_id"]].status == "refunded"
    stars_refunded = {p["telegram_payment_charge_id"] for p in await tg.payments() if p.get("refunded")}
    assert payments[invoice["payment_id"]].external_id in stars_refunded
    async with resources.sessionmaker() as session:
        learner_row = await session.get(KnownLearner, user_id)
        assert learner_row.pseudonymised_at is not None
    report = (await operator.get("/internal/reconciliation")).json()
    assert report["consistent"], report["differences"]
    # No new write lands on the id.
    again = await http.post(
        f"/internal/learners/{user_id}/top-ups", json={"amount_rub": 500}, headers={"Idempotency-Key": key()}
    )
    assert again.json()["error"]["code"] == "learner_not_found"


async def test_stars_paid_for_an_erased_learners_invoice_go_back_and_the_payer_is_forgotten_after(
    users, platform, resources, billing_consumers, publish, eventually, http, operator, key, pay_stars, tg, db
):
    """An invoice approved at pre-checkout just before the erasure is paid after it: Telegram took the
    Stars, so they are recorded and refunded; the payer's Telegram id, needed for the refund, goes with
    the sweep once the refund is done."""
    user_id = await _register(users, platform, telegram_id=TELEGRAM_ID + 1, phone="+79995550124")
    learner = TestUser(id=TELEGRAM_ID + 1)
    invoice = (
        await http.post(
            f"/internal/learners/{user_id}/stars-invoices",
            json={"purpose": "top_up", "stars": 100},
            headers={"Idempotency-Key": key()},
        )
    ).json()
    await _erase(publish, eventually, resources, user_id)

    paid = await http.post("/internal/stars/payments", json=await pay_stars(learner, user_id, invoice))

    assert paid.json()["outcome"] == "refunded", paid.text
    [payment] = await db("payments", user_id=user_id)
    assert payment.status == "refunded"
    refunded = [p for p in await tg.payments() if p.get("refunded")]
    assert payment.external_id in {p["telegram_payment_charge_id"] for p in refunded}
    assert (await http.get(f"/internal/wallets/{user_id}")).json()["coins"] == 0
    assert await _rows_with(resources, (str(TELEGRAM_ID + 1),))  # recorded with the payment...

    assert (await sweep_erased_learners_once(resources))["pseudonymised"] == 1

    assert await _rows_with(resources, (str(TELEGRAM_ID + 1),)) == []  # ...and gone after the refund
    report = (await operator.get("/internal/reconciliation")).json()
    assert report["consistent"], report["differences"]
    assert (await reconcile_once(resources))["payments_settled"] == 0
    async with resources.sessionmaker() as session:
        learner_row = await session.scalar(select(KnownLearner).where(KnownLearner.user_id == user_id))
    assert learner_row.pseudonymised_at is not None
