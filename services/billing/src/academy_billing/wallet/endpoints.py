from __future__ import annotations

from typing import Annotated

from academy_runtime.db import SessionDep
from academy_runtime.dependencies import ResourcesDep
from academy_runtime.errors import NotFoundError, error_responses
from academy_runtime.ids import BigIntegerId, UserId
from fastapi import APIRouter, Path, Query, Request

from academy_billing.dependencies import (
    FinanceOperator,
    FinanceReader,
    LearnerCommand,
    LearnerMoneyReader,
    RequiredIdempotencyKey,
    SettingsDep,
    TransactionId,
)
from academy_billing.learners.service import idempotency_subject, require_learner
from academy_billing.models import messaging
from academy_billing.payments.schemas import WalletSettingsIn
from academy_billing.wallet import service
from academy_billing.wallet.schemas import (
    AdjustmentOut,
    AdjustWallet,
    TransactionPage,
    WalletAuditOut,
    WalletOut,
    WalletTransactionOut,
)

router = APIRouter(prefix="/internal/wallets", tags=["wallet"])


@router.get("/{user_id}", response_model=WalletOut)
async def get_wallet(user_id: UserId, session: SessionDep, settings: SettingsDep, _: LearnerMoneyReader) -> WalletOut:
    """The learner's coins balance; 0 for a learner whose wallet never changed. Reads never ask whether the
    learner exists (an unknown one has no wallet: 0 coins, like the lists below: empty); writes do."""
    return await service.get_wallet(session, user_id, default_threshold=settings.low_balance_threshold_coins)


@router.get("/{user_id}/transactions", response_model=TransactionPage)
async def list_transactions(
    user_id: UserId,
    session: SessionDep,
    _: LearnerMoneyReader,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    before_id: Annotated[BigIntegerId | None, Query(description="Id of the last item of the previous page.")] = None,
) -> TransactionPage:
    """The wallet's history, newest first (keyset pagination: pass `next_before_id` back as `before_id`)."""
    return await service.transaction_history(session, user_id, limit=limit, before_id=before_id)


@router.get(
    "/{user_id}/transactions/{transaction_id}", responses=error_responses(404), response_model=WalletTransactionOut
)
async def get_transaction(
    user_id: Annotated[UserId, Path(examples=[1])],
    # Learner 1's first: an operator's credit (billing's API tests seed it; `payments.schemas`).
    transaction_id: Annotated[TransactionId, Path(examples=[1])],
    session: SessionDep,
    _: LearnerMoneyReader,
) -> WalletTransactionOut:
    found = await service.get_transaction(session, user_id, transaction_id)
    if found is None:
        raise NotFoundError(f"learner {user_id} has no wallet transaction {transaction_id}")
    return found


@router.post("/{user_id}/adjustments", responses=error_responses(404, 409, 503), response_model=AdjustmentOut)
async def adjust_wallet(
    *,
    user_id: UserId,
    command: AdjustWallet,
    session: SessionDep,
    resources: ResourcesDep,
    settings: SettingsDep,
    caller: FinanceOperator,
    request: Request,
    idempotency_key: RequiredIdempotencyKey,
) -> AdjustmentOut:
    """An operator's credit (positive `delta`) or debit (negative); 409 when a debit exceeds the balance,
    404 `learner_not_found` for a learner nobody registered (or erased; `learners.service`)."""
    await require_learner(session, resources, user_id)

    async def adjust() -> AdjustmentOut:
        apply = service.credit if command.delta > 0 else service.debit
        change = await apply(
            session,
            user_id=user_id,
            coins=abs(command.delta),
            type="adjustment",
            # The key names the request; the reference makes the ledger itself refuse a second effect.
            reference=f"adjustment:{caller.actor}:{idempotency_key}",
            description=f"{command.reason} ({caller.actor})",
            low_balance_threshold=settings.low_balance_threshold_coins,
        )
        return AdjustmentOut(
            transaction=change.transaction, applied=change.applied, balance=change.transaction.balance_after
        )

    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        payload={"user_id": user_id, **command.model_dump()},
        response_model=AdjustmentOut,
        action=adjust,
        subject=idempotency_subject(user_id),
    )


@router.get("/{user_id}/audit", response_model=WalletAuditOut)
async def audit_wallet(user_id: UserId, session: SessionDep, _: FinanceReader) -> WalletAuditOut:
    """Whether the stored balance equals the sum of the ledger and every `balance_after` is consistent."""
    return await service.audit_wallet(session, user_id)


@router.put("/{user_id}/settings", responses=error_responses(404, 503), response_model=WalletOut)
async def change_wallet_settings(
    user_id: UserId,
    command: WalletSettingsIn,
    session: SessionDep,
    resources: ResourcesDep,
    settings: SettingsDep,
    _: LearnerCommand,
) -> WalletOut:
    """The learner's wallet settings: `confirm_purchases` (ask before charging a course to the wallet);
    404 `learner_not_found` for a learner nobody registered."""
    await require_learner(session, resources, user_id)
    return await service.set_confirm_purchases(
        session, user_id, confirm=command.confirm_purchases, default_threshold=settings.low_balance_threshold_coins
    )
