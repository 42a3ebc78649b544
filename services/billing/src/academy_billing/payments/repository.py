"""Queries of payments, purchases, refunds and provider events. Nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from academy_runtime.repository import Repository
from sqlalchemy import Select, select, text, update
from sqlalchemy.dialects.postgresql import insert

from academy_billing.models import Payment, ProviderEvent, Purchase, Refund
from academy_billing.payments.personal_data import provider_record


class PaymentRepository(Repository):
    async def _fresh(self, statement: Select[Payment], *, lock: bool = False) -> Payment | None:
        # populate_existing: a payment the session already holds is re-read (a settlement changes rows
        # with UPDATE statements, and a locked read must see the locked values).
        return await self.one_or_none(statement.execution_options(populate_existing=True), for_update=lock)

    async def get(self, payment_id: int, *, lock: bool = False) -> Payment | None:
        return await self._fresh(select(Payment).where(Payment.id == payment_id), lock=lock)

    async def by_idempotence_key(self, key: str, *, lock: bool = False) -> Payment | None:
        return await self._fresh(select(Payment).where(Payment.idempotence_key == key), lock=lock)

    async def by_invoice_payload(self, payload: str, *, lock: bool = False) -> Payment | None:
        return await self._fresh(select(Payment).where(Payment.invoice_payload == payload), lock=lock)

    async def by_external_id(self, method: str, external_id: str, *, lock: bool = False) -> Payment | None:
        return await self._fresh(
            select(Payment).where(Payment.payment_method == method, Payment.external_id == external_id), lock=lock
        )

    async def open_stars_invoice(
        self, user_id: int, course_id: int, *, amount: Decimal, now: datetime
    ) -> Payment | None:
        """The learner's newest unpaid, unexpired Stars invoice for the course at this price, if any."""
        statement = (
            select(Payment)
            .where(
                Payment.user_id == user_id,
                Payment.course_id == course_id,
                Payment.payment_method == "telegram_stars",
                Payment.status == "pending",
                Payment.invoice_payload.is_not(None),
                Payment.amount == amount,
                Payment.expires_at > now,
            )
            .order_by(Payment.id.desc())
            .limit(1)
        )
        return await self._fresh(statement)

    async def create(self, **values: Any) -> Payment:
        """Insert the payment and read it back whole (server defaults included)."""
        payment = await self.add(Payment(**values))
        await self.session.refresh(payment)
        return payment

    async def of_learner(self, user_id: int, *, limit: int, before_id: int | None) -> Sequence[Payment]:
        statement = select(Payment).where(Payment.user_id == user_id)
        if before_id is not None:
            statement = statement.where(Payment.id < before_id)
        result = await self.session.execute(statement.order_by(Payment.id.desc()).limit(limit))
        return result.scalars().all()

    async def unsettled(self, *, method: str, created_before: datetime, limit: int) -> Sequence[int]:
        """Ids of pending payments of `method` created before the time (the reconciliation's work)."""
        result = await self.session.execute(
            select(Payment.id)
            .where(
                Payment.payment_method == method,
                Payment.status.in_(("pending", "waiting_for_capture")),
                Payment.created_at < created_before,
            )
            .order_by(Payment.created_at)
            .limit(limit)
        )
        return result.scalars().all()

    async def expired_invoices(self, *, expired_before: datetime, limit: int) -> Sequence[int]:
        result = await self.session.execute(
            select(Payment.id)
            .where(
                Payment.payment_method == "telegram_stars",
                Payment.status == "pending",
                Payment.expires_at < expired_before,
            )
            .order_by(Payment.expires_at)
            .limit(limit)
        )
        return result.scalars().all()

    async def record_provider_event(
        self,
        *,
        provider: str,
        external_event_id: str,
        event_type: str,
        payment_id: int | None,
        payload: dict[str, Any],
        processed_at: datetime | None,
    ) -> bool:
        """Log a verified provider event once; False when the same event was recorded before. Only what makes
        it a financial record is kept of `payload` (`personal_data.provider_record`: no card, no payer
        details but a Stars payer's Telegram id, which a refund needs)."""
        result = await self.session.execute(
            insert(ProviderEvent)
            .values(
                provider=provider,
                external_event_id=external_event_id,
                event_type=event_type,
                payment_id=payment_id,
                payload=provider_record(provider, payload),
                processed_at=processed_at,
            )
            .on_conflict_do_nothing(index_elements=[ProviderEvent.provider, ProviderEvent.external_event_id])
            .returning(ProviderEvent.id)
        )
        return result.first() is not None

    async def stars_payer(self, payment_id: int) -> int | None:
        """The Telegram user id that paid a Stars payment (Telegram's refund needs it), from its event."""
        result = await self.session.execute(
            select(ProviderEvent.payload)
            .where(ProviderEvent.payment_id == payment_id, ProviderEvent.provider == "telegram_stars")
            .order_by(ProviderEvent.id)
            .limit(1)
        )
        payload = result.scalar_one_or_none()
        if not payload or payload.get("telegram_user_id") is None:
            return None
        return int(payload["telegram_user_id"])


class PurchaseRepository(Repository):
    async def active(self, user_id: int, course_id: int) -> Purchase | None:
        result = await self.session.execute(
            select(Purchase)
            .where(Purchase.user_id == user_id, Purchase.course_id == course_id, Purchase.status == "active")
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def get(self, purchase_id: int, *, lock: bool = False) -> Purchase | None:
        statement = select(Purchase).where(Purchase.id == purchase_id).execution_options(populate_existing=True)
        return await self.one_or_none(statement, for_update=lock)

    async def by_wallet_transaction(self, transaction_id: int) -> Purchase | None:
        """The purchase a wallet debit paid for."""
        result = await self.session.execute(
            select(Purchase)
            .where(Purchase.wallet_transaction_id == transaction_id)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def by_payment(self, payment_id: int, *, lock: bool = False) -> Purchase | None:
        statement = (
            select(Purchase)
            .where(Purchase.payment_id == payment_id)
            .order_by(Purchase.id.desc())
            .limit(1)
            .execution_options(populate_existing=True)
        )
        return await self.one_or_none(statement, for_update=lock)

    async def add_if_not_owned(self, **values: Any) -> Purchase | None:
        """Insert an active purchase; None when the learner already holds the course (the partial
        unique index decides, so two concurrent purchases cannot both succeed)."""
        result = await self.session.execute(
            insert(Purchase)
            .values(**values, status="active")
            .on_conflict_do_nothing(
                index_elements=[Purchase.user_id, Purchase.course_id],
                # A literal, not a bound parameter: PostgreSQL matches a partial index to ON CONFLICT by
                # its predicate, and a "$1" predicate matches only while the statement's plan is custom
                # (asyncpg re-uses prepared statements: from the sixth run on, a generic plan failed).
                index_where=text("status = 'active'"),
            )
            .returning(Purchase.id)
        )
        purchase_id = result.scalar_one_or_none()
        return None if purchase_id is None else await self.get(purchase_id)

    async def of_learner(self, user_id: int) -> Sequence[Purchase]:
        result = await self.session.execute(
            select(Purchase).where(Purchase.user_id == user_id).order_by(Purchase.id.desc())
        )
        return result.scalars().all()

    async def mark_refunded(self, purchase_id: int, at: datetime) -> None:
        await self.session.execute(
            update(Purchase)
            .where(Purchase.id == purchase_id)
            .values(status="refunded", refunded_at=at)
            .execution_options(synchronize_session=False)
        )


class RefundRepository(Repository):
    async def get(self, refund_id: int, *, lock: bool = False) -> Refund | None:
        statement = select(Refund).where(Refund.id == refund_id).execution_options(populate_existing=True)
        return await self.one_or_none(statement, for_update=lock)

    async def by_idempotence_key(self, key: str) -> Refund | None:
        result = await self.session.execute(
            select(Refund).where(Refund.idempotence_key == key).execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def by_external_id(self, external_id: str) -> Refund | None:
        result = await self.session.execute(
            select(Refund).where(Refund.external_id == external_id).execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def create(self, **values: Any) -> Refund:
        """Insert the refund and read it back whole (server defaults included)."""
        refund = await self.add(Refund(**values))
        await self.session.refresh(refund)
        return refund

    async def of_payment(self, payment_id: int) -> Sequence[Refund]:
        result = await self.session.execute(select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.id))
        return result.scalars().all()

    async def pending(self, *, created_before: datetime, limit: int) -> Sequence[int]:
        result = await self.session.execute(
            select(Refund.id)
            .where(Refund.status == "pending", Refund.created_at < created_before)
            .order_by(Refund.created_at)
            .limit(limit)
        )
        return result.scalars().all()
