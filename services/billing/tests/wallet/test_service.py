import asyncio

import pytest
from academy_billing.models import Wallet, WalletTransaction, messaging
from academy_billing.wallet import service
from academy_billing.wallet.service import InsufficientFunds, ReferenceConflictError
from academy_contracts import parse_event
from academy_runtime.errors import ValidationFailedError
from academy_runtime.relay import OutboxRelay
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

pytestmark = pytest.mark.integration

CHANGED = "billing.balance_changed.v1"
LOW = "billing.balance_low.v1"


def _credit(user_id, coins, reference, **kw):
    kw.setdefault("type", "reward")
    kw.setdefault("description", "test credit")
    return lambda s: service.credit(s, user_id=user_id, coins=coins, reference=reference, **kw)


def _debit(user_id, coins, reference, **kw):
    kw.setdefault("type", "purchase")
    kw.setdefault("description", "test debit")
    return lambda s: service.debit(s, user_id=user_id, coins=coins, reference=reference, **kw)


async def _balance(resources, user_id) -> int | None:
    async with resources.sessionmaker() as session:
        return await session.scalar(select(Wallet.coins).where(Wallet.user_id == user_id))


async def _ledger(resources, user_id) -> list[WalletTransaction]:
    async with resources.sessionmaker() as session:
        statement = select(WalletTransaction).where(WalletTransaction.user_id == user_id).order_by(WalletTransaction.id)
        return list((await session.execute(statement)).scalars())


async def test_first_credit_opens_the_wallet_writes_one_ledger_row_and_announces_the_change(
    resources, in_transaction, outbox
):
    change = await in_transaction(_credit(1, 150, "achievement:1:3", description="Награда"))

    assert change.applied is True
    assert change.transaction.amount == 150
    assert change.transaction.balance_after == 150
    assert await _balance(resources, 1) == 150
    [row] = await _ledger(resources, 1)
    assert (row.type, row.reference, row.description) == ("reward", "achievement:1:3", "Награда")
    [event] = await outbox(CHANGED)
    assert event["data"] == {
        "user_id": 1,
        "transaction_id": row.id,
        "delta": 150,
        "balance": 150,
        "reason": "achievement_reward",
        "changed_at": event["data"]["changed_at"],
    }
    assert event["partitionkey"] == "1"
    assert await outbox(LOW) == []


async def test_debit_takes_coins_and_records_the_balance_after_each_change(resources, in_transaction, outbox):
    await in_transaction(_credit(2, 100, "r:2:1"))
    change = await in_transaction(_debit(2, 40, "r:2:2"))

    assert change.transaction.amount == -40
    assert change.transaction.balance_after == 60
    assert await _balance(resources, 2) == 60
    assert [(r.amount, r.balance_after) for r in await _ledger(resources, 2)] == [(100, 100), (-40, 60)]
    assert [e["data"]["delta"] for e in await outbox(CHANGED)] == [100, -40]
    assert (await outbox(CHANGED))[1]["data"]["reason"] == "course_purchase"


async def test_the_same_reference_twice_returns_the_first_transaction_and_changes_nothing(
    resources, in_transaction, outbox
):
    first = await in_transaction(_credit(3, 70, "payment:9:credit", type="adjustment"))
    replay = await in_transaction(_credit(3, 70, "payment:9:credit", type="adjustment"))

    assert replay.applied is False
    assert replay.transaction == first.transaction
    assert await _balance(resources, 3) == 70
    assert len(await _ledger(resources, 3)) == 1
    assert len(await outbox(CHANGED)) == 1


async def test_a_debit_replay_is_recognised_even_when_the_balance_could_not_pay_it_again(resources, in_transaction):
    await in_transaction(_credit(4, 50, "r:4:1"))
    first = await in_transaction(_debit(4, 50, "order:4:1"))
    replay = await in_transaction(_debit(4, 50, "order:4:1"))

    assert replay.applied is False
    assert replay.transaction.id == first.transaction.id
    assert await _balance(resources, 4) == 0


async def test_a_reference_reused_for_a_different_change_is_refused(resources, in_transaction):
    await in_transaction(_credit(5, 10, "shared-ref"))

    with pytest.raises(ReferenceConflictError) as refused:
        await in_transaction(_credit(5, 11, "shared-ref"))
    with pytest.raises(ReferenceConflictError):
        await in_transaction(_credit(6, 10, "shared-ref"))

    assert refused.value.status_code == 409
    assert await _balance(resources, 5) == 10
    assert await _balance(resources, 6) is None


async def test_debit_beyond_the_balance_raises_insufficient_funds_and_changes_nothing(
    resources, in_transaction, outbox
):
    await in_transaction(_credit(7, 20, "r:7:1"))

    with pytest.raises(InsufficientFunds) as refused:
        await in_transaction(_debit(7, 21, "order:7:1"))

    assert refused.value.status_code == 409
    assert refused.value.code == "insufficient_funds"
    assert refused.value.details == {"user_id": 7, "balance": 20, "requested": 21}
    assert await _balance(resources, 7) == 20
    assert len(await _ledger(resources, 7)) == 1
    assert len(await outbox(CHANGED)) == 1


async def test_debit_from_a_learner_without_a_wallet_is_refused_without_opening_one(resources, in_transaction):
    with pytest.raises(InsufficientFunds):
        await in_transaction(_debit(8, 1, "order:8:1"))

    assert await _balance(resources, 8) is None


@pytest.mark.parametrize("coins", [0, -5, True, 10**12])
async def test_coins_must_be_a_positive_whole_number(in_transaction, coins):
    with pytest.raises(ValidationFailedError):
        await in_transaction(_credit(9, coins, "r:9"))


async def test_concurrent_debits_never_spend_the_same_coins_twice(resources, in_transaction, outbox):
    await in_transaction(_credit(10, 100, "r:10:seed"))

    async def attempt(n: int) -> str:
        try:
            await in_transaction(_debit(10, 30, f"order:10:{n}"))
        except InsufficientFunds:
            return "refused"
        return "paid"

    outcomes = await asyncio.gather(*(attempt(n) for n in range(10)))

    assert outcomes.count("paid") == 3
    assert outcomes.count("refused") == 7
    assert await _balance(resources, 10) == 10
    ledger = await _ledger(resources, 10)
    assert [r.balance_after for r in ledger] == [100, 70, 40, 10]
    audit = await in_transaction(lambda s: service.audit_wallet(s, 10))
    assert audit.consistent is True
    assert (audit.balance, audit.ledger_sum, audit.transactions) == (10, 10, 4)
    # 100 is already "at or below" the threshold of 100: the debits never crossed it.
    assert await outbox(LOW) == []


async def test_concurrent_replays_of_one_reference_apply_it_once(resources, in_transaction):
    outcomes = await asyncio.gather(*(in_transaction(_credit(11, 25, "payment:11:credit")) for _ in range(8)))

    assert sum(change.applied for change in outcomes) == 1
    assert len({change.transaction.id for change in outcomes}) == 1
    assert await _balance(resources, 11) == 25


async def test_balance_low_is_announced_once_each_time_a_debit_crosses_the_threshold(resources, in_transaction, outbox):
    await in_transaction(_credit(12, 150, "r:12:1"))  # threshold 100
    await in_transaction(_debit(12, 30, "o:12:1"))  # 120: still above
    assert await outbox(LOW) == []

    await in_transaction(_debit(12, 30, "o:12:2"))  # 90: crossed
    await in_transaction(_debit(12, 10, "o:12:3"))  # 80: already low, no second event
    [low] = await outbox(LOW)
    assert low["data"]["balance"] == 90
    assert low["data"]["threshold"] == 100

    await in_transaction(_credit(12, 100, "r:12:2"))  # 180
    await in_transaction(_debit(12, 80, "o:12:4"))  # exactly 100: "at or below" crosses again
    assert [e["data"]["balance"] for e in await outbox(LOW)] == [90, 100]


async def test_threshold_of_a_new_wallet_comes_from_the_caller(resources, in_transaction, outbox):
    await in_transaction(_credit(13, 60, "r:13:1", low_balance_threshold=50))
    await in_transaction(_debit(13, 15, "o:13:1"))

    [low] = await outbox(LOW)
    assert low["data"] == {"user_id": 13, "balance": 45, "threshold": 50, "detected_at": low["data"]["detected_at"]}


async def test_audit_reports_a_balance_that_disagrees_with_the_ledger(resources, in_transaction):
    await in_transaction(_credit(14, 40, "r:14:1"))
    await in_transaction(_debit(14, 15, "o:14:1"))
    assert (await in_transaction(lambda s: service.audit_wallet(s, 14))).consistent is True

    async with resources.sessionmaker() as session, session.begin():
        await session.execute(update(Wallet).where(Wallet.user_id == 14).values(coins=1000))
    audit = await in_transaction(lambda s: service.audit_wallet(s, 14))

    assert audit.consistent is False
    assert (audit.balance, audit.ledger_sum, audit.broken_links) == (1000, 25, 0)


async def test_audit_reports_a_ledger_row_whose_balance_after_does_not_follow(resources, in_transaction):
    await in_transaction(_credit(15, 40, "r:15:1"))
    await in_transaction(_credit(15, 10, "r:15:2"))
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(
            update(WalletTransaction).where(WalletTransaction.reference == "r:15:2").values(balance_after=55)
        )

    audit = await in_transaction(lambda s: service.audit_wallet(s, 15))

    assert audit.consistent is False
    assert audit.broken_links == 1


async def test_the_database_itself_refuses_a_negative_balance_and_a_zero_change(resources):
    async with resources.sessionmaker() as session:
        await session.execute(text("INSERT INTO billing.wallets (user_id, coins) VALUES (16, 5)"))
        with pytest.raises(IntegrityError, match="ck_wallets_coins_not_negative"):
            await session.execute(text("UPDATE billing.wallets SET coins = -1 WHERE user_id = 16"))
        await session.rollback()
    async with resources.sessionmaker() as session, session.begin():
        wallet_id = (
            await session.execute(text("INSERT INTO billing.wallets (user_id) VALUES (16) RETURNING id"))
        ).scalar_one()
    async with resources.sessionmaker() as session:
        with pytest.raises(IntegrityError, match="ck_wallet_transactions_amount_nonzero"):
            await session.execute(
                text(
                    "INSERT INTO billing.wallet_transactions (user_id, wallet_id, amount, type, description, "
                    "balance_after, reference) VALUES (16, :w, 0, 'adjustment', 'x', 0, 'zero')"
                ),
                {"w": wallet_id},
            )


async def test_a_topup_without_a_payment_is_refused_by_the_database(in_transaction):
    with pytest.raises(IntegrityError, match="ck_wallet_transactions_topup_has_payment"):
        await in_transaction(_credit(17, 100, "topup-without-payment", type="topup"))


async def test_relay_publishes_balance_events_that_match_their_contracts(resources, in_transaction, event_probe):
    await in_transaction(_credit(18, 120, "r:18:1"))
    await in_transaction(_debit(18, 30, "o:18:1"))
    relay = OutboxRelay(resources.settings, resources.sessionmaker, messaging)
    try:
        published = await relay.publish_pending()
    finally:
        await relay.close()

    assert published == 3
    received = [await event_probe.next() for _ in range(3)]
    parsed = [parse_event(payload) for payload in received]
    assert sorted(event.type for event, _ in parsed) == sorted([CHANGED, CHANGED, LOW])
    async with resources.sessionmaker() as session:
        unpublished = await session.scalar(
            select(func.count()).select_from(messaging.outbox).where(messaging.outbox.c.published_at.is_(None))
        )
    assert unpublished == 0
