"""An erased learner's money records: kept as the law requires, detached from the person.

`users.user_erased.v2` (or a v1 still queued from before the users service's issue-10 release) means the
learner withdrew their consent (152-ФЗ art. 9 §2, art. 21 §5). Billing may not delete what it must keep:
primary accounting documents and the registers built on them for five years (402-ФЗ art. 29), and the
fiscal data of every payment and refund (54-ФЗ: the receipts themselves are with the provider and the
fiscal data operator). So billing keeps every payment, refund, purchase, wallet and ledger row with its
amounts, currencies, dates, states, provider ids and the learner's `user_id`, and removes from them what
says who the person was (`pseudonymise_learner`, in the `learner-registry` consumer's transaction):

- `provider_events.payload`: the Stars payer's Telegram id and our copy of the learner id go (the
  provider's own ids, amounts and times stay; a YooKassa payment object is kept without card or payer
  details from the start, `payments.personal_data`);
- `payments.idempotence_key` of settled payments, and the ledger `reference` of wallet purchases: both are
  hashes of the request's key, which the gateway derives from the Telegram chat; with a candidate
  Telegram id the hash could be recomputed, so they become random (a pending payment keeps its key: the
  provider still answers to it);
- `refunds.reason` and `purchase_refunded` events in the outbox: an operator's words (they may name the
  person) become a fixed text; billing's own reason codes stay;
- `wallet_transactions.description` of operators' adjustments: likewise (who made it stays in
  `reference`);
- `idempotency_keys` whose subject is the learner: deleted (a stored answer holds an operator's reason);
- the learner's unpaid Stars invoices are cancelled (`payment_failed`, reason `learner_erased`).

Why the `user_id` stays rather than a random pseudonym: once the users service has erased the account,
the id names nobody — no table on the platform maps it to a person any more — and it is already the
registry's tombstone (`learners.erased_at`, which must keep refusing writes for it). The records that
could still lead to the person are the provider's (YooKassa's payment with the receipt's phone, Telegram's
charge), reached through the provider ids the law makes billing keep whatever the learner column holds;
a pseudonym would add nothing against them and would break what the id holds together (the wallet and
its ledger, purchases, the reconciliation, the settlement of a payment in flight).

What is held back: a Stars payer's Telegram id while a refund of that payment is pending (Telegram's
refund needs it), and the key of a payment still pending at the provider. `learners.pseudonymised_at`
stays null until nothing is held back; the reconciliation job's sweep (`sweep_erased_learners_once`)
comes back for those learners, and for learners erased before this release. Billing keeps nothing of a
learner in Redis (the Stars cursor names no one).
"""

from __future__ import annotations

import logging
import secrets
from typing import TypeVar

from academy_contracts.billing import PurchaseRefundedV1
from academy_runtime.consumer import EventContext
from academy_runtime.db import transaction
from academy_runtime.resources import Resources
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from academy_billing import metrics
from academy_billing.learners.service import idempotency_subject
from academy_billing.models import KnownLearner, Payment, ProviderEvent, Refund, WalletTransaction, messaging
from academy_billing.payments.personal_data import PAYER_FIELD, provider_record, without_payer
from academy_billing.payments.service import AUTOMATIC_REFUND_REASONS, LEARNER_ERASED, cancel_open_invoices

log = logging.getLogger(__name__)

REDACTED_REASON = "причина удалена вместе с данными учащегося"
"""What an operator's refund reason becomes (their words may have named the person)."""
REDACTED_ADJUSTMENT = "Корректировка оператора (причина удалена вместе с данными учащегося)"
"""What an operator's adjustment's ledger description becomes."""
_UNSETTLED = ("pending", "waiting_for_capture")
_HASHED_PURCHASE = "^purchase:[0-9a-f]{32,}$"
"""A wallet purchase's reference: `purchase:` and the hash of (learner, course, request key)."""
SWEEP_BATCH = 100
LearnersRowT = TypeVar("LearnersRowT", Refund, Payment)


def _random_key(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(24)}"


async def _lock_learners_rows(session: AsyncSession, model: type[LearnersRowT], user_id: int) -> list[LearnersRowT]:
    """The learner's rows of `model` (`Refund`, `Payment`), locked in id order (the order the settlements
    lock them in) and read afresh: the session may hold them from before the lock."""
    statement = (
        select(model)
        .where(model.user_id == user_id)
        .order_by(model.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(statement)).all())


async def pseudonymise_learner(session: AsyncSession, user_id: int) -> bool:
    """Detach the learner's financial records from the person (see the module's docstring); True when
    nothing had to be held back, and `learners.pseudonymised_at` is then set.

    Run it with the learner's registry row locked (the erasure's upsert, or the sweep's `FOR UPDATE`).
    Locks, in the order the settlements take them: the learner's refunds, then their payments, so a
    settlement or a refund in flight commits first and is covered here. Idempotent.
    """
    refunds = await _lock_learners_rows(session, Refund, user_id)
    for refund in refunds:
        if refund.reason not in AUTOMATIC_REFUND_REASONS:
            refund.reason = REDACTED_REASON
    held_back = await _detach_payments(session, user_id)
    refunding = {r.payment_id for r in refunds if r.status == "pending" and r.payment_id is not None}
    held_back = await _detach_provider_events(session, user_id, refunding) or held_back
    await _redact_ledger(session, user_id)
    await _redact_outbox(session, user_id)
    await messaging.idempotency.forget_subject(session, idempotency_subject(user_id))
    await session.flush()
    await session.execute(
        update(KnownLearner)
        .where(KnownLearner.user_id == user_id)
        .values(pseudonymised_at=None if held_back else func.now())
    )
    return not held_back


async def _detach_payments(session: AsyncSession, user_id: int) -> bool:
    """Lock the learner's payments, cancel their unpaid Stars invoices, give settled ones a random key;
    True when one is still pending at its provider (its key is kept for it)."""
    payments = await _lock_learners_rows(session, Payment, user_id)
    await cancel_open_invoices(session, payments, LEARNER_ERASED)
    held_back = False
    for payment in payments:
        if payment.status in _UNSETTLED:
            held_back = True  # the provider still answers to its key
        elif not payment.idempotence_key.startswith("erased:"):
            payment.idempotence_key = _random_key("erased:")
    return held_back


async def _detach_provider_events(session: AsyncSession, user_id: int, refunding: set[int]) -> bool:
    """The provider records of the learner's payments without the payer; True when a Stars payer's
    Telegram id is kept for a refund still pending (`refunding`: those payments' ids)."""
    events = (
        await session.scalars(
            select(ProviderEvent)
            .join(Payment, Payment.id == ProviderEvent.payment_id)
            .where(Payment.user_id == user_id)
            .order_by(ProviderEvent.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    held_back = False
    for event in events:
        if event.payment_id in refunding:
            kept = provider_record(event.provider, event.payload)
            held_back = held_back or PAYER_FIELD in kept
        else:
            kept = without_payer(event.provider, event.payload)
        if kept != event.payload:
            event.payload = kept
    return held_back


async def _redact_ledger(session: AsyncSession, user_id: int) -> None:
    """Operators' adjustments lose their reason (their words); wallet purchases' hashed references become
    random (the hash covers the request's key, which may name the Telegram chat)."""
    hashed_purchase = WalletTransaction.reference.regexp_match(_HASHED_PURCHASE)
    transactions = (
        await session.scalars(
            select(WalletTransaction)
            .where(WalletTransaction.user_id == user_id)
            .where((WalletTransaction.type == "adjustment") | hashed_purchase)
            .execution_options(populate_existing=True)
        )
    ).all()
    for row in transactions:
        if row.type == "adjustment":
            row.description = REDACTED_ADJUSTMENT
        else:
            row.reference = _random_key("purchase:erased-")


async def _redact_outbox(session: AsyncSession, user_id: int) -> None:
    """An operator's refund reason in the learner's `purchase_refunded` events waiting in the outbox (sent
    ones until the retention sweep, unsent ones before they go) becomes the fixed text."""
    outbox = messaging.outbox
    rows = (
        await session.execute(
            select(outbox.c.id, outbox.c.payload)
            .where(
                outbox.c.event_type == PurchaseRefundedV1.event_type,
                outbox.c.payload["data"]["user_id"].astext == str(user_id),
            )
            .with_for_update()
        )
    ).all()
    for row in rows:
        data = row.payload.get("data", {})
        if data.get("reason") not in (*AUTOMATIC_REFUND_REASONS, REDACTED_REASON):
            payload = {**row.payload, "data": {**data, "reason": REDACTED_REASON}}
            await session.execute(update(outbox).where(outbox.c.id == row.id).values(payload=payload))


async def on_learner_erased(ctx: EventContext, user_id: int) -> None:
    """The `learner-registry` consumer's erasure hook (`academy_runtime.learner_registry.ErasureHook`)."""
    complete = await pseudonymise_learner(ctx.session, user_id)
    log.info("erased learner's records pseudonymised", extra={"user_id": user_id, "complete": complete})
    metrics.ERASURES.labels("event", "complete" if complete else "held_back").inc()


async def sweep_erased_learners_once(resources: Resources, *, batch: int = SWEEP_BATCH) -> dict[str, int]:
    """Pseudonymise the erased learners whose records are not all done (`pseudonymised_at` null: something
    was held back, money arrived after the erasure, or they were erased before this release); returns
    how many were finished and how many still hold something back. One transaction per learner."""
    counts = {"pseudonymised": 0, "held_back": 0}
    async with resources.sessionmaker() as session:
        pending = (
            await session.scalars(
                select(KnownLearner.user_id)
                .where(KnownLearner.erased_at.is_not(None), KnownLearner.pseudonymised_at.is_(None))
                .order_by(KnownLearner.user_id)
                .limit(batch)
            )
        ).all()
    for user_id in pending:
        async with transaction(resources.sessionmaker) as session:
            # The erasure's order: the registry row first.
            await session.execute(select(KnownLearner.user_id).where(KnownLearner.user_id == user_id).with_for_update())
            complete = await pseudonymise_learner(session, user_id)
        counts["pseudonymised" if complete else "held_back"] += 1
        metrics.ERASURES.labels("sweep", "complete" if complete else "held_back").inc()
    return counts
