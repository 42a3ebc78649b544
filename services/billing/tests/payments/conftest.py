"""Payments are tested against billing on a real port, the Bot API emulator (Stars) and the YooKassa
emulator (API, confirmation, notifications with faults), with PostgreSQL and RabbitMQ for real."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from academy_billing.models import Payment, Purchase, Refund, Wallet
from academy_billing.prices.repository import CoursePriceRepository
from academy_runtime.resources import Resources
from academy_runtime.testing import TestPlatform, operator_token, service_token
from academy_tg_emulator import EmulatorClient, EmulatorServer, TestUser
from academy_tg_emulator.testing import RawBotApi
from academy_yookassa_emulator.client import YooKassaEmulatorClient
from academy_yookassa_emulator.server import YooKassaEmulatorServer
from sqlalchemy import func, select

pytestmark = pytest.mark.integration


@pytest.fixture
async def tg(telegram_server: EmulatorServer) -> AsyncIterator[EmulatorClient]:
    async with EmulatorClient(telegram_server.base_url) as client:
        yield client


@pytest.fixture
async def bot_api(telegram_server: EmulatorServer) -> AsyncIterator[RawBotApi]:
    async with httpx.AsyncClient(base_url=telegram_server.base_url, timeout=10) as http:
        yield RawBotApi(http)


@pytest.fixture
async def yk(yookassa_server: YooKassaEmulatorServer, billing_http: str) -> AsyncIterator[YooKassaEmulatorClient]:
    """The YooKassa emulator's control API; notifications go to billing on its port."""
    async with YooKassaEmulatorClient(yookassa_server.base_url) as client:
        await client.clear_faults()
        await client.set_notification_url(f"{billing_http}/webhooks/yookassa")
        yield client
        await client.clear_faults()


async def _billing_as(billing_http: str, token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=billing_http, headers={"authorization": f"Bearer {token}"}, timeout=20
    ) as client:
        yield client


@pytest.fixture
async def http(billing_http: str, platform: TestPlatform) -> AsyncIterator[httpx.AsyncClient]:
    """Billing over HTTP as the gateway calls it."""
    async for client in _billing_as(billing_http, service_token(platform, caller="gateway-bot", audience="billing")):
        yield client


@pytest.fixture
async def operator(billing_http: str, platform: TestPlatform) -> AsyncIterator[httpx.AsyncClient]:
    """Billing over HTTP as a finance operator, alice (refunds, rates, reconciliation)."""
    token = operator_token(platform, name="alice", roles=("finance",), audience="billing", ttl_s=3600)
    async for client in _billing_as(billing_http, token):
        yield client


@pytest.fixture
def put_course(resources: Resources) -> Callable[..., Awaitable[int]]:
    """Billing's price projection of a course, as catalog events would leave it."""

    async def put(
        course_id: int,
        price: str | int = "990.00",
        currency: str = "RUB",
        *,
        title: str = "Основы маникюра",
        active: bool = True,
    ) -> int:
        amount = Decimal(str(price))
        async with resources.sessionmaker() as session, session.begin():
            await CoursePriceRepository(session).put_if_newer(
                course_id=course_id,
                price=amount,
                currency=currency,
                stars_price=int(amount) if currency == "XTR" and amount > 0 else None,
                title=title,
                is_active=active,
                changed_at=datetime.now(UTC),
            )
        return course_id

    return put


@pytest.fixture
def key() -> Callable[[], str]:
    return lambda: uuid.uuid4().hex


@pytest.fixture
def send_invoice(tg: EmulatorClient, bot_api: RawBotApi) -> Callable[..., Awaitable[dict[str, Any]]]:
    """The bot sends billing's invoice to the learner, as the gateway does; returns the sent message."""

    async def send(user: TestUser, invoice: dict[str, Any]) -> dict[str, Any]:
        await tg.send_text(user, "/start")
        sent: dict[str, Any] = await bot_api.ok(
            "sendInvoice",
            chat_id=user.id,
            title=invoice["title"],
            description=invoice["description"],
            payload=invoice["payload"],
            currency="XTR",
            prices=[{"label": invoice["title"], "amount": invoice["amount"]}],
        )
        return sent

    return send


@pytest.fixture
def pay_stars(
    tg: EmulatorClient, send_invoice: Callable[..., Awaitable[dict[str, Any]]]
) -> Callable[..., Awaitable[dict[str, Any]]]:
    """A learner pays a Stars invoice billing issued, as Telegram would: the bot sends the invoice, the
    learner pays it in the Bot API emulator, and the `successful_payment` goes to billing as the gateway
    passes it on. Returns the successful_payment body billing was given."""

    async def pay(user: TestUser, user_id: int, invoice: dict[str, Any]) -> dict[str, Any]:
        sent = await send_invoice(user, invoice)
        message = await tg.send_successful_payment(user, invoice_message_id=sent["message_id"])
        paid = message.successful_payment
        assert paid is not None
        return {
            "payload": paid["invoice_payload"],
            "user_id": user_id,
            "telegram_user_id": user.id,
            "currency": paid["currency"],
            "total_amount": paid["total_amount"],
            "telegram_payment_charge_id": paid["telegram_payment_charge_id"],
            "provider_payment_charge_id": paid.get("provider_payment_charge_id", ""),
        }

    return pay


@pytest.fixture
def db(resources: Resources) -> Callable[..., Awaitable[Any]]:
    """Counts and rows of billing's tables, read in a fresh session."""

    async def read(what: str, **where: Any) -> Any:
        model = {"payments": Payment, "purchases": Purchase, "refunds": Refund, "wallets": Wallet}[what]
        statement = select(model).filter_by(**where).order_by(*model.__table__.primary_key.columns)
        async with resources.sessionmaker() as session:
            return list((await session.execute(statement)).scalars())

    return read


@pytest.fixture
def count_credits(resources: Resources) -> Callable[[int], Awaitable[int]]:
    from academy_billing.models import WalletTransaction

    async def count(payment_id: int) -> int:
        async with resources.sessionmaker() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(WalletTransaction)
                    .where(WalletTransaction.payment_id == payment_id, WalletTransaction.type == "topup")
                )
                or 0
            )

    return count
