"""What billing tells Prometheus for the alerts and the business dashboard (issue 12): the time of the last
reconciliation pass that completed (AcademyReconciliationNotRunning), the differences it found
(AcademyReconciliationDifferences), and the money succeeded payments brought (the revenue panel)."""

import time

import pytest
from academy_billing.models import Wallet
from academy_billing.payments.reconciliation import reconciliation_pass
from academy_tg_emulator import TestUser
from prometheus_client import REGISTRY
from sqlalchemy import update

pytestmark = pytest.mark.integration


def _sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_completed_pass_records_its_time_and_its_differences(resources, in_transaction):
    from academy_billing.wallet import service as wallet

    await in_transaction(
        lambda s: wallet.credit(s, user_id=93, coins=10, type="reward", reference="r:93", description="reward")
    )
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(update(Wallet).where(Wallet.user_id == 93).values(coins=11))
    before = time.time()

    report = await reconciliation_pass(resources)

    assert _sample("academy_billing_reconciliation_last_success_timestamp_seconds") >= before
    assert _sample("academy_billing_reconciliation_differences") == len(report.differences)
    assert {"kind": "wallet_balance", "user_id": 93} in [
        {"kind": d.kind, "user_id": d.user_id} for d in report.differences
    ]
    # put right, the next pass reports it gone and records its own time
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(update(Wallet).where(Wallet.user_id == 93).values(coins=10))
    first = _sample("academy_billing_reconciliation_last_success_timestamp_seconds")

    report = await reconciliation_pass(resources)

    assert 93 not in [d.user_id for d in report.differences]
    assert _sample("academy_billing_reconciliation_differences") == len(report.differences)
    assert _sample("academy_billing_reconciliation_last_success_timestamp_seconds") >= first


async def test_a_succeeded_payment_adds_its_amount_to_the_revenue_once(http, put_course, key, pay_stars):
    await put_course(593, 75, "XTR")
    labels = {"currency": "XTR", "method": "telegram_stars", "purpose": "course"}
    before = _sample("academy_billing_revenue_total", **labels)
    invoice = await http.post(
        "/internal/learners/94/stars-invoices",
        json={"purpose": "course", "course_id": 593},
        headers={"Idempotency-Key": key()},
    )
    assert invoice.status_code == 200, invoice.text
    paid = await pay_stars(TestUser.new("Ирина"), 94, invoice.json())

    for _ in range(2):  # Telegram may deliver it twice: one payment, one amount
        answer = await http.post("/internal/stars/payments", json=paid)
        assert answer.status_code == 200, answer.text

    assert _sample("academy_billing_revenue_total", **labels) == before + 75
    exposition = (await http.get("/metrics")).text
    assert 'academy_billing_revenue_total{currency="XTR",method="telegram_stars",purpose="course"}' in exposition
