"""The reconciliation report, and the ledger's invariants after a randomised run of many payments whose
provider events are duplicated and reordered."""

import asyncio
import random

import pytest
from academy_billing.models import Wallet
from academy_billing.payments.service import reconcile_once
from academy_tg_emulator import TestUser
from sqlalchemy import update

pytestmark = pytest.mark.integration


async def _coins(http, user_id):
    return (await http.get(f"/internal/wallets/{user_id}")).json()["coins"]


async def test_a_randomised_run_with_duplicated_and_reordered_events_keeps_every_invariant(  # noqa: C901 - one story
    http, operator, yk, key, put_course, pay_stars, resources
):
    rng = random.Random(20261130)
    learners = [51, 52, 53, 54]
    await put_course(651, "200.00")
    await put_course(652, 150, "XTR")
    expected = dict.fromkeys(learners, 0)
    top_ups = []
    for _ in range(12):
        user_id = rng.choice(learners)
        amount = rng.choice([100, 200, 300, 500])
        top_ups.append(
            (
                user_id,
                amount,
                (
                    await http.post(
                        f"/internal/learners/{user_id}/top-ups",
                        json={"amount_rub": amount},
                        headers={"Idempotency-Key": key()},
                    )
                ).json(),
            )
        )
    # Payers act in a random order; YooKassa repeats and reorders what it sends.
    rng.shuffle(top_ups)
    await yk.set_faults(repeat=3, repeat_next=4, reorder=4)
    for user_id, amount, payment in top_ups:
        if rng.random() < 0.75:
            await yk.pay(payment["external_id"])
            expected[user_id] += amount
        else:
            await yk.cancel(payment["external_id"])
    await yk.release_held()
    # Stars purchases, each successful_payment delivered two or three times, concurrently.
    stars_users = {}
    for user_id in learners[:2]:
        stars_users[user_id] = TestUser.new(f"learner{user_id}")
        invoice = (
            await http.post(
                f"/internal/learners/{user_id}/stars-invoices",
                json={"purpose": "course", "course_id": 652},
                headers={"Idempotency-Key": key()},
            )
        ).json()
        paid = await pay_stars(stars_users[user_id], user_id, invoice)
        await asyncio.gather(*(http.post("/internal/stars/payments", json=paid) for _ in range(rng.randint(2, 3))))

    async def settled():
        return all([await _coins(http, u) == expected[u] for u in learners])

    deadline = asyncio.get_running_loop().time() + 15
    while not await settled():
        if asyncio.get_running_loop().time() > deadline:
            await reconcile_once(resources)  # whatever a lost notification left, the job settles
            break
        await asyncio.sleep(0.1)
    assert {u: await _coins(http, u) for u in learners} == expected
    # Wallet purchases where the coins allow, concurrently with a second try of each.
    buyers = set()
    for user_id in learners:
        if expected[user_id] >= 200:
            request = {"course_id": 651, "coins_price": 200}
            await asyncio.gather(
                *(
                    http.post(f"/internal/learners/{user_id}/purchases", json=request, headers={"Idempotency-Key": k})
                    for k in (key(), key())
                )
            )
            expected[user_id] -= 200
            buyers.add(user_id)

    report = (await operator.get("/internal/reconciliation")).json()
    assert report["consistent"], report["differences"]
    assert report["payments_checked"] >= 14
    for user_id in learners:
        assert await _coins(http, user_id) == expected[user_id]
        audit = (await operator.get(f"/internal/wallets/{user_id}/audit")).json()
        assert audit["consistent"], audit
        purchases = (await http.get(f"/internal/learners/{user_id}/purchases")).json()
        assert len([p for p in purchases if p["course_id"] == 651]) == (1 if user_id in buyers else 0)
        assert len([p for p in purchases if p["course_id"] == 652]) == (1 if user_id in stars_users else 0)


async def test_the_report_lists_a_wallet_whose_balance_disagrees_with_its_ledger(
    http, operator, resources, in_transaction
):
    from academy_billing.wallet import service as wallet

    await in_transaction(
        lambda s: wallet.credit(s, user_id=55, coins=100, type="reward", reference="r:55", description="reward")
    )
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(update(Wallet).where(Wallet.user_id == 55).values(coins=1_000_000))

    report = (await operator.get("/internal/reconciliation")).json()

    assert report["consistent"] is False
    assert report["differences"] == [
        {"kind": "wallet_balance", "user_id": 55, "payment_id": None, "expected": "100", "actual": "1000000"}
    ]
    assert (await http.get("/internal/reconciliation")).status_code == 403
