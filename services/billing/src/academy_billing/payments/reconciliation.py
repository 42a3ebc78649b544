"""The reconciliation report and job: money and coins checked against each other.

The report lists every difference between what must hold and what the database holds:
- each wallet's balance equals the sum of its ledger (`wallet_balance`);
- each succeeded top-up has exactly one credit of its coins (`top_up_credit`), and no payment that did
  not succeed has one (`credit_without_payment`), nor one whose money billing gave back at once (an
  amount that was not the invoice's, a learner erased before their money arrived);
- each succeeded course payment paid for exactly one purchase, or its money went back at once (the
  course already held, the amount not the invoice's, the learner erased) (`course_purchase`);
- each payment's `refunded_amount` equals the sum of its succeeded refunds (`refunded_amount`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from academy_runtime.resources import Resources
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from academy_billing import metrics
from academy_billing.learners.erasure import sweep_erased_learners_once
from academy_billing.payments.schemas import Difference, ReconciliationReport
from academy_billing.payments.service import reconcile_once
from academy_billing.settings import BillingSettings

log = logging.getLogger(__name__)

_WALLETS = text(
    """
    SELECT w.user_id, w.coins, COALESCE(SUM(t.amount), 0) AS ledger
    FROM billing.wallets w LEFT JOIN billing.wallet_transactions t ON t.wallet_id = w.id
    GROUP BY w.id
    HAVING w.coins <> COALESCE(SUM(t.amount), 0)
    """
)
# A refund billing made by itself, at once, for money that bought nothing (`payments.service`).
_GIVEN_BACK = """
    EXISTS (SELECT 1 FROM billing.refunds r
            WHERE r.payment_id = p.id AND r.requested_by = 'billing' AND r.status <> 'failed'
              AND r.reason IN ('already_owned', 'amount_mismatch', 'learner_erased'))
"""
_TOP_UPS = text(
    f"""
    SELECT * FROM (
        SELECT p.id, p.user_id, p.status, p.coins,
               COUNT(t.id) AS credits, COALESCE(SUM(t.amount), 0) AS credited, {_GIVEN_BACK} AS given_back
        FROM billing.payments p
        LEFT JOIN billing.wallet_transactions t ON t.payment_id = p.id AND t.type = 'topup'
        WHERE p.purpose = 'top_up'
        GROUP BY p.id
    ) AS top_ups
    WHERE (status IN ('succeeded', 'refunded') AND NOT given_back AND (credits <> 1 OR credited <> coins))
       OR ((status NOT IN ('succeeded', 'refunded') OR given_back) AND credits > 0)
    """  # noqa: S608 - a constant of this module, no input
)
_COURSES = text(
    """
    SELECT * FROM (
        SELECT p.id, p.user_id,
               (SELECT COUNT(*) FROM billing.purchases pu WHERE pu.payment_id = p.id) AS purchases,
               (SELECT COUNT(*) FROM billing.refunds r
                 WHERE r.payment_id = p.id AND r.requested_by = 'billing' AND r.status <> 'failed'
                   AND r.reason IN ('already_owned', 'amount_mismatch', 'learner_erased')) AS auto_refunds
        FROM billing.payments p
        WHERE p.purpose = 'course' AND p.status IN ('succeeded', 'refunded')
    ) AS paid
    WHERE purchases + auto_refunds <> 1
    """
)
_REFUNDED = text(
    """
    SELECT p.id, p.user_id, p.refunded_amount,
           COALESCE(SUM(r.amount) FILTER (WHERE r.status = 'succeeded'), 0) AS refunds
    FROM billing.payments p LEFT JOIN billing.refunds r ON r.payment_id = p.id
    GROUP BY p.id
    HAVING p.refunded_amount <> COALESCE(SUM(r.amount) FILTER (WHERE r.status = 'succeeded'), 0)
    """
)
_COUNTS = text("SELECT (SELECT COUNT(*) FROM billing.wallets), (SELECT COUNT(*) FROM billing.payments)")


def _credit_expected(row: Any) -> bool:
    """A top-up that succeeded credits its coins, unless billing gave the money back at once."""
    return row.status in {"succeeded", "refunded"} and not row.given_back


async def reconciliation_report(session: AsyncSession) -> ReconciliationReport:
    """Every difference between the ledger, the wallets, the payments, the purchases and the refunds,
    read in one snapshot (run it in a REPEATABLE READ or a read-only transaction for exactness)."""
    differences = [
        Difference(kind="wallet_balance", user_id=row.user_id, expected=str(row.ledger), actual=str(row.coins))
        for row in (await session.execute(_WALLETS)).all()
    ]
    differences.extend(
        Difference(
            kind="top_up_credit" if _credit_expected(row) else "credit_without_payment",
            user_id=row.user_id,
            payment_id=row.id,
            expected=f"1 credit of {row.coins} coins" if _credit_expected(row) else "no credit",
            actual=f"{row.credits} credits, {row.credited} coins",
        )
        for row in (await session.execute(_TOP_UPS)).all()
    )
    for row in (await session.execute(_COURSES)).all():
        differences.append(  # noqa: PERF401 - one difference per row, like the loops around it
            Difference(
                kind="course_purchase",
                user_id=row.user_id,
                payment_id=row.id,
                expected="1 purchase or 1 refund",
                actual=f"{row.purchases} purchases, {row.auto_refunds} refunds",
            )
        )
    for row in (await session.execute(_REFUNDED)).all():
        differences.append(  # noqa: PERF401 - one difference per row
            Difference(
                kind="refunded_amount",
                user_id=row.user_id,
                payment_id=row.id,
                expected=str(row.refunds),
                actual=str(row.refunded_amount),
            )
        )
    wallets, payments = (await session.execute(_COUNTS)).one()
    metrics.RECONCILIATION_DIFFERENCES.set(len(differences))
    return ReconciliationReport(
        wallets_checked=wallets,
        payments_checked=payments,
        differences=differences,
        consistent=not differences,
        generated_at=datetime.now(UTC),
    )


async def reconciliation_pass(resources: Resources) -> ReconciliationReport:
    """One pass of the worker's job: settle what notifications left unsettled (`reconcile_once`),
    pseudonymise what erasures had to hold back (`learners.erasure`), then report differences.

    A pass that completes sets `academy_billing_reconciliation_last_success_timestamp_seconds` to the
    time (differences or not: those are `academy_billing_reconciliation_differences`); one that raises
    leaves it, so the alert AcademyReconciliationNotRunning fires when passes stop completing.
    Raises whatever the database, Telegram or YooKassa raise (the job logs it and tries again)."""
    counts = await reconcile_once(resources)
    for action, count in counts.items():
        metrics.RECONCILIATION_ACTIONS.labels(action).inc(count)
    if any(counts.values()):
        log.info("reconciliation settled payments", extra=counts)
    erased = await sweep_erased_learners_once(resources)
    if any(erased.values()):
        log.info("erased learners' records pseudonymised", extra=erased)
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        report = await reconciliation_report(session)
    if not report.consistent:
        log.error("reconciliation found differences", extra={"differences": len(report.differences)})
    metrics.RECONCILIATION_LAST_SUCCESS.set_to_current_time()
    return report


async def reconciliation_job(resources: Resources) -> None:
    """The worker's loop: a `reconciliation_pass` every RECONCILIATION_INTERVAL_S seconds; a pass that
    fails is logged and the next one retries."""
    settings = resources.settings_as(BillingSettings)
    while True:
        try:
            await reconciliation_pass(resources)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reconciliation pass failed; the next pass retries")
        await asyncio.sleep(settings.reconciliation_interval_s)
