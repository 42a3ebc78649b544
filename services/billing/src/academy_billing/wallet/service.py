"""The coins wallet: a ledger where every balance change is one row, applied at most once.

Invariants (each also held by a database constraint where one can hold it):
- a wallet's `coins` equals the sum of its transactions, and each transaction's `balance_after` is
  the running sum up to it (`audit_wallet` checks both);
- the balance never goes below zero: a debit that would is refused with `InsufficientFunds` (409);
- a `reference` is applied once: the same reference again returns the first transaction and
  changes nothing, so replayed events and retried requests never move coins twice;
- changes of one wallet are serialised by locking its row (`SELECT ... FOR UPDATE`), so concurrent
  debits cannot both spend the same coins;
- every change writes `billing.balance_changed.v1` to the outbox in the same transaction, and a debit
  that takes the balance from above the wallet's threshold to at or below it also writes
  `billing.balance_low.v1`.

Nothing here commits: the request or the consumer that called it does.
"""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import NoReturn

from academy_contracts.billing import BalanceChangedV1, BalanceLowV1
from academy_runtime.errors import ConflictError, ValidationFailedError
from sqlalchemy.ext.asyncio import AsyncSession

from academy_billing import metrics
from academy_billing.models import Wallet, WalletTransaction, messaging
from academy_billing.settings import DEFAULT_LOW_BALANCE_THRESHOLD_COINS
from academy_billing.wallet.repository import WalletRepository
from academy_billing.wallet.schemas import (
    MAX_COINS_PER_CHANGE,
    TransactionPage,
    TransactionType,
    WalletAuditOut,
    WalletChange,
    WalletOut,
    WalletTransactionOut,
)

# The `reason` of billing.balance_changed.v1, in the vocabulary its contract documents.
EVENT_REASONS: dict[str, str] = {
    "topup": "top_up",
    "purchase": "course_purchase",
    "refund": "refund",
    "reward": "achievement_reward",
    "adjustment": "operator_adjustment",
}

_EVENT_NAMESPACE = uuid.UUID("6f1d3c1e-4b7a-5c7e-9a51-0b5e1c2a7d10")
_MAX_DESCRIPTION = 500


class InsufficientFundsError(ConflictError):
    """A debit asked for more coins than the wallet holds."""

    code = "insufficient_funds"

    def __init__(self, *, user_id: int, balance: int, requested: int) -> None:
        super().__init__(
            f"the wallet holds {balance} coins, {requested} are needed: top up the balance first",
            details={"user_id": user_id, "balance": balance, "requested": requested},
        )


InsufficientFunds = InsufficientFundsError  # the domain's name for it


class ReferenceConflictError(ConflictError):
    """A reference already names a different change (another learner, amount or type): a caller bug."""

    code = "reference_conflict"


async def credit(
    session: AsyncSession,
    *,
    user_id: int,
    coins: int,
    type: TransactionType,  # noqa: A002 - the ledger's column name
    reference: str,
    description: str,
    payment_id: int | None = None,
    low_balance_threshold: int = DEFAULT_LOW_BALANCE_THRESHOLD_COINS,
) -> WalletChange:
    """Add `coins` (> 0) to the learner's wallet once per `reference`; the wallet is created if needed.

    `low_balance_threshold` is only used when this change creates the wallet.
    """
    _check_coins(coins)
    return await _apply(
        session,
        user_id=user_id,
        delta=coins,
        type=type,
        reference=reference,
        description=description,
        payment_id=payment_id,
        low_balance_threshold=low_balance_threshold,
    )


async def debit(
    session: AsyncSession,
    *,
    user_id: int,
    coins: int,
    type: TransactionType,  # noqa: A002 - the ledger's column name
    reference: str,
    description: str,
    payment_id: int | None = None,
    low_balance_threshold: int = DEFAULT_LOW_BALANCE_THRESHOLD_COINS,
) -> WalletChange:
    """Take `coins` (> 0) from the learner's wallet once per `reference`.

    Raises `InsufficientFunds` (409) when the wallet holds fewer coins; nothing changes then.
    """
    _check_coins(coins)
    return await _apply(
        session,
        user_id=user_id,
        delta=-coins,
        type=type,
        reference=reference,
        description=description,
        payment_id=payment_id,
        low_balance_threshold=low_balance_threshold,
    )


def _check_coins(coins: int) -> None:
    if isinstance(coins, bool) or not isinstance(coins, int) or not 0 < coins <= MAX_COINS_PER_CHANGE:
        raise ValidationFailedError(f"coins must be a whole number from 1 to {MAX_COINS_PER_CHANGE}, not {coins!r}")


async def _apply(
    session: AsyncSession,
    *,
    user_id: int,
    delta: int,
    type: TransactionType,  # noqa: A002 - the ledger's column name
    reference: str,
    description: str,
    payment_id: int | None,
    low_balance_threshold: int,
) -> WalletChange:
    repo = WalletRepository(session)
    # Fast path for replays: no lock, no wallet creation.
    existing = await repo.transaction_by_reference(reference)
    if existing is not None:
        return _replayed(existing, user_id=user_id, delta=delta, type=type)

    wallet = await repo.lock(user_id)
    if wallet is None:
        if delta < 0:
            _refuse(user_id=user_id, balance=0, delta=delta, type=type)
        await repo.create_if_absent(user_id, low_balance_threshold=low_balance_threshold)
        wallet = await repo.lock(user_id)
        assert wallet is not None  # created or found above, and wallets are never deleted
    # Every change of this wallet holds its lock until commit: a change with the same reference that
    # raced us has committed by now and is visible to this statement.
    existing = await repo.transaction_by_reference(reference)
    if existing is not None:
        return _replayed(existing, user_id=user_id, delta=delta, type=type)

    balance_before = wallet.coins
    balance_after = balance_before + delta
    if balance_after < 0:
        _refuse(user_id=user_id, balance=balance_before, delta=delta, type=type)
    row = await repo.add_transaction(
        wallet=wallet,
        amount=delta,
        type=type,
        description=description[:_MAX_DESCRIPTION],
        balance_after=balance_after,
        reference=reference,
        payment_id=payment_id,
    )
    if row is None:
        # Only reachable when another learner's change took this reference concurrently.
        taken = await repo.transaction_by_reference(reference)
        assert taken is not None
        return _replayed(taken, user_id=user_id, delta=delta, type=type)
    await repo.set_balance(wallet.id, balance_after)
    await _publish_change(session, row, wallet, balance_before)
    metrics.COINS_MOVED.labels("credit" if delta > 0 else "debit", type).inc(abs(delta))
    return WalletChange(transaction=WalletTransactionOut.model_validate(row), applied=True)


def _replayed(existing: WalletTransaction, *, user_id: int, delta: int, type: str) -> WalletChange:  # noqa: A002
    if (existing.user_id, existing.amount, existing.type) != (user_id, delta, type):
        raise ReferenceConflictError(
            f"reference {existing.reference!r} already names another wallet change "
            f"({existing.type} of {existing.amount} coins for learner {existing.user_id})",
            details={"reference": existing.reference, "transaction_id": existing.id},
        )
    metrics.WALLET_CHANGES_REPLAYED.labels(type).inc()
    return WalletChange(transaction=WalletTransactionOut.model_validate(existing), applied=False)


def _refuse(*, user_id: int, balance: int, delta: int, type: str) -> NoReturn:  # noqa: A002
    metrics.INSUFFICIENT_FUNDS.labels(type).inc()
    raise InsufficientFundsError(user_id=user_id, balance=balance, requested=-delta)


async def _publish_change(session: AsyncSession, row: WalletTransaction, wallet: Wallet, balance_before: int) -> None:
    changed_at = row.created_at.astimezone(UTC)
    await messaging.publish(
        session,
        BalanceChangedV1(
            user_id=row.user_id,
            transaction_id=row.id,
            delta=row.amount,
            balance=row.balance_after,
            reason=EVENT_REASONS[row.type],
            changed_at=changed_at,
        ),
        # Derived from the ledger row: the event of one change has one id, whoever publishes it.
        event_id=uuid.uuid5(_EVENT_NAMESPACE, f"balance_changed:{row.id}"),
    )
    threshold = wallet.low_balance_threshold
    if balance_before > threshold >= row.balance_after:
        await messaging.publish(
            session,
            BalanceLowV1(user_id=row.user_id, balance=row.balance_after, threshold=threshold, detected_at=changed_at),
            event_id=uuid.uuid5(_EVENT_NAMESPACE, f"balance_low:{row.id}"),
        )
        metrics.BALANCE_LOW.inc()


async def get_wallet(session: AsyncSession, user_id: int, *, default_threshold: int) -> WalletOut:
    """A learner with no wallet yet has 0 coins (not a 404: every learner has a balance)."""
    wallet = await WalletRepository(session).by_user(user_id)
    if wallet is None:
        return WalletOut(
            user_id=user_id, coins=0, low_balance_threshold=default_threshold, is_low=True, updated_at=None
        )
    return WalletOut(
        user_id=user_id,
        coins=wallet.coins,
        low_balance_threshold=wallet.low_balance_threshold,
        is_low=wallet.coins <= wallet.low_balance_threshold,
        confirm_purchases=wallet.confirm_purchases,
        updated_at=wallet.updated_at,
    )


async def set_confirm_purchases(
    session: AsyncSession, user_id: int, *, confirm: bool, default_threshold: int
) -> WalletOut:
    """Store the learner's choice to confirm (or not) each course charged to the wallet; the wallet is
    created empty when the learner has none yet."""
    repo = WalletRepository(session)
    await repo.create_if_absent(user_id, low_balance_threshold=default_threshold)
    await repo.set_confirm_purchases(user_id, confirm=confirm)
    return await get_wallet(session, user_id, default_threshold=default_threshold)


async def get_transaction(session: AsyncSession, user_id: int, transaction_id: int) -> WalletTransactionOut | None:
    row = await WalletRepository(session).transaction(user_id, transaction_id)
    return None if row is None else WalletTransactionOut.model_validate(row)


async def transaction_history(
    session: AsyncSession, user_id: int, *, limit: int, before_id: int | None
) -> TransactionPage:
    # One extra row tells whether an older page exists without a COUNT.
    rows = await WalletRepository(session).history(user_id, limit=limit + 1, before_id=before_id)
    items = [WalletTransactionOut.model_validate(row) for row in rows[:limit]]
    return TransactionPage(items=items, next_before_id=items[-1].id if len(rows) > limit else None)


async def audit_wallet(session: AsyncSession, user_id: int) -> WalletAuditOut:
    """Check the wallet's balance against its ledger (roadmap: the balance is checked against the ledger)."""
    summary = await WalletRepository(session).ledger_summary(user_id)
    if summary is None:
        return WalletAuditOut(user_id=user_id, balance=0, ledger_sum=0, transactions=0, broken_links=0, consistent=True)
    consistent = summary.balance == summary.ledger_sum and summary.broken_links == 0
    if not consistent:
        metrics.AUDIT_MISMATCHES.inc()
    return WalletAuditOut(
        user_id=user_id,
        balance=summary.balance,
        ledger_sum=summary.ledger_sum,
        transactions=summary.transactions,
        broken_links=summary.broken_links,
        consistent=consistent,
    )
