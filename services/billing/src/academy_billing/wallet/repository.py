from __future__ import annotations

from dataclasses import dataclass

from academy_runtime.repository import Repository
from sqlalchemy import func, select, true, update
from sqlalchemy.dialects.postgresql import insert

from academy_billing.models import Wallet, WalletTransaction


@dataclass(frozen=True)
class LedgerSummary:
    """A wallet's stored balance and its ledger, read in one statement (one snapshot)."""

    balance: int
    ledger_sum: int
    transactions: int
    broken_links: int


class WalletRepository(Repository):
    async def by_user(self, user_id: int) -> Wallet | None:
        # populate_existing: balances are changed with UPDATE statements, never through a loaded object.
        result = await self.session.execute(
            select(Wallet).where(Wallet.user_id == user_id).execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def lock(self, user_id: int) -> Wallet | None:
        """The learner's wallet, locked until the transaction ends: changes of one wallet run one at a time."""
        result = await self.session.execute(
            select(Wallet).where(Wallet.user_id == user_id).with_for_update().execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def create_if_absent(self, user_id: int, *, low_balance_threshold: int) -> None:
        """Create an empty wallet; a concurrent creation of the same wallet is not an error."""
        await self.session.execute(
            insert(Wallet)
            .values(user_id=user_id, coins=0, low_balance_threshold=low_balance_threshold)
            .on_conflict_do_nothing(index_elements=[Wallet.user_id])
        )

    async def set_confirm_purchases(self, user_id: int, *, confirm: bool) -> None:
        await self.session.execute(
            update(Wallet)
            .where(Wallet.user_id == user_id)
            .values(confirm_purchases=confirm, updated_at=func.now())
            .execution_options(synchronize_session=False)
        )

    async def set_balance(self, wallet_id: int, coins: int) -> None:
        await self.session.execute(
            update(Wallet)
            .where(Wallet.id == wallet_id)
            .values(coins=coins, updated_at=func.now())
            .execution_options(synchronize_session=False)
        )

    async def transaction_by_reference(self, reference: str) -> WalletTransaction | None:
        result = await self.session.execute(select(WalletTransaction).where(WalletTransaction.reference == reference))
        return result.scalar_one_or_none()

    async def add_transaction(
        self,
        *,
        wallet: Wallet,
        amount: int,
        type: str,  # noqa: A002 - the column's name
        description: str,
        balance_after: int,
        reference: str,
        payment_id: int | None,
    ) -> WalletTransaction | None:
        """Append a ledger row; None when the reference is already taken."""
        result = await self.session.execute(
            insert(WalletTransaction)
            .values(
                user_id=wallet.user_id,
                wallet_id=wallet.id,
                amount=amount,
                type=type,
                description=description,
                balance_after=balance_after,
                reference=reference,
                payment_id=payment_id,
            )
            .on_conflict_do_nothing(index_elements=[WalletTransaction.reference])
            .returning(WalletTransaction)
        )
        return result.scalar_one_or_none()

    async def transaction(self, user_id: int, transaction_id: int) -> WalletTransaction | None:
        result = await self.session.execute(
            select(WalletTransaction).where(
                WalletTransaction.id == transaction_id, WalletTransaction.user_id == user_id
            )
        )
        return result.scalar_one_or_none()

    async def history(self, user_id: int, *, limit: int, before_id: int | None) -> list[WalletTransaction]:
        """Newest first, keyset-paginated on id (stable while new rows arrive, unlike OFFSET)."""
        statement = select(WalletTransaction).where(WalletTransaction.user_id == user_id)
        if before_id is not None:
            statement = statement.where(WalletTransaction.id < before_id)
        statement = statement.order_by(WalletTransaction.id.desc()).limit(limit)
        return list((await self.session.execute(statement)).scalars())

    async def ledger_summary(self, user_id: int) -> LedgerSummary | None:
        """Balance, ledger sum and broken links of the learner's wallet; None when there is no wallet.

        A link is broken when a row's `balance_after` is not the running sum of the ledger up to it.
        Rows of one wallet are inserted while its row is locked, so id order is application order.
        """
        tx = WalletTransaction
        running = (
            select(
                tx.amount,
                tx.balance_after,
                func.sum(tx.amount).over(order_by=tx.id).label("running"),
            )
            .where(tx.user_id == Wallet.user_id)
            .correlate(Wallet)
            .subquery()
            .lateral("ledger")
        )
        statement = (
            select(
                Wallet.coins,
                func.coalesce(func.sum(running.c.amount), 0),
                func.count(running.c.amount),
                func.count().filter(running.c.balance_after != running.c.running),
            )
            .select_from(Wallet)
            .outerjoin(running, true())  # LEFT JOIN LATERAL ... ON true
            .where(Wallet.user_id == user_id)
            .group_by(Wallet.id, Wallet.coins)
        )
        row = (await self.session.execute(statement)).first()
        if row is None:
            return None
        return LedgerSummary(
            balance=int(row[0]), ledger_sum=int(row[1]), transactions=int(row[2]), broken_links=int(row[3])
        )
