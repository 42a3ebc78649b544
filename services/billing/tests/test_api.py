"""Schemathesis over the service's OpenAPI: every check, with a valid token and without one.

Billing asks the users service for a receipt's phone before it creates a YooKassa payment, so these
tests run the real users app in this process (as the gateway's tests do), with learners registered
there: a top-up or a course payment for one of them goes through to the YooKassa emulator.

What the OpenAPI examples name is made before each test (`academy_billing.payments.schemas`), through the
real catalog-prices handler, billing's API and the YooKassa emulator: courses 1 and 2 on sale in roubles;
learner 1's wallet credited by a finance operator (transaction 1), course 2 bought from it (purchase 1);
learner 2's 500 RUB top-up paid in the emulator and settled (payment 1); learner 3's Stars top-up invoice
(payment 2). So learner 1 buys course 1, purchase 1 and payment 1 are refunded, and the invoice is paid."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from academy_billing.models import Payment
from academy_billing.payments import service as payments
from academy_billing.payments.schemas import EXAMPLE_STARS_PAYLOAD
from academy_billing.prices.consumers import record_published_course_price
from academy_contracts import CoursePublishedV1, Money, build_event
from academy_runtime.api_tests import (
    ExpectedRefusal,
    NoSuccess,
    api_test_tokens,
    test_api_conforms_to_openapi,
    test_api_refuses_unauthenticated,
)
from academy_runtime.auth import TokenCache
from academy_runtime.client import ServiceClient
from academy_runtime.consumer import EventContext
from academy_runtime.db import transaction
from academy_runtime.inprocess import InProcessStack
from academy_runtime.migrations import migrate
from academy_runtime.resources import Resources
from academy_runtime.service import ServiceDefinition
from academy_runtime.testing import (
    TestPlatform,
    api_client,
    cleanup_broker,
    operator_token,
    register_api_test_learners,
    service_token,
)
from academy_users.app import service as users_service
from academy_yookassa_emulator.client import YooKassaEmulatorClient
from academy_yookassa_emulator.server import YooKassaEmulatorServer

__all__ = ["api_test_tokens", "test_api_conforms_to_openapi", "test_api_refuses_unauthenticated"]

LEARNERS = 3
"""Learners registered in users (ids 1..3): the small ids the generated requests use most."""


@pytest.fixture(scope="module", autouse=True)
async def users_in_process(platform: TestPlatform, resources: Resources) -> AsyncIterator[InProcessStack]:
    """The users service in this process; billing's users client points at it while these tests run."""
    stack = InProcessStack(platform, [users_service])
    async with stack:
        users = stack["users"]
        token = service_token(platform, caller="gateway-bot", audience="users")
        async with httpx.AsyncClient(
            transport=users.transport(), base_url="http://users", headers={"Authorization": f"Bearer {token}"}
        ) as client:
            await register_api_test_learners(client, LEARNERS)
        providers = resources.extras["providers"]
        replaced = providers.users
        providers.users = ServiceClient(
            "users", "http://users", TokenCache.from_settings(resources.settings), transport=users.transport()
        )
        queues = stack.queue_names()
        database_url = users.settings.database_url
        yield stack
        await providers.users.aclose()
        providers.users = replaced
    # Only users' queues: the run's events exchange serves billing's tests that come after this module.
    await cleanup_broker(platform.infra.rabbitmq_url, platform.run_id, queues, delete_exchange=False)
    # Billing's other tests expect no users tables in the run's database (they create and drop one).
    await asyncio.to_thread(migrate, users_service, "downgrade", "base", database_url=database_url)


async def _publish_course(resources: Resources, course_id: int, price: str, title: str) -> None:
    """The course as catalog's `catalog.course_published` leaves it in billing (the real handler)."""
    event = CoursePublishedV1(
        course_id=course_id,
        title=title,
        category="manicure",
        price=Money(amount=Decimal(price), currency="RUB"),
        is_top=False,
        is_active=True,
        lessons=(),
        published_at=datetime.now(UTC),
    )
    async with transaction(resources.sessionmaker) as session:
        ctx = EventContext(
            session=session, event=build_event(event), resources=resources, consumer="catalog-prices", attempt=1
        )
        await record_published_course_price(ctx, event)


def _created(response: httpx.Response, **expected: object) -> dict[str, object]:
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    assert {name: body[name] for name in expected} == expected, body
    return body


@pytest.fixture(autouse=True)
async def _example_world(
    users_in_process: InProcessStack,
    resources: Resources,
    service: ServiceDefinition,
    platform: TestPlatform,
    yookassa_server: YooKassaEmulatorServer,
) -> None:
    """What the OpenAPI examples name (`academy_billing.payments.schemas`), with the ids they give (each test
    starts from empty tables)."""
    await _publish_course(resources, 1, "990.00", "Аппаратный маникюр: базовый курс")
    await _publish_course(resources, 2, "4900.00", "Наращивание ресниц")
    gateway = service_token(platform, caller="gateway-bot", audience="billing")
    finance = operator_token(platform, name="alice", roles=("finance",), audience="billing", ttl_s=3600)
    async with api_client(service, resources, gateway) as learner, api_client(service, resources, finance) as operator:
        key = {"Idempotency-Key": uuid.uuid4().hex}
        credited = await operator.post(
            "/internal/wallets/1/adjustments",
            json={"delta": 10_000, "reason": "Подарок за участие в марафоне"},
            headers=key,
        )
        assert credited.status_code == 200, credited.text
        assert credited.json()["transaction"]["id"] == 1, credited.text
        offer = await learner.get("/internal/learners/1/offers/2")
        bought = await learner.post(
            "/internal/learners/1/purchases",
            json={"course_id": 2, "coins_price": _created(offer)["coins_price"]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        _created(bought, purchase_id=1)
        # The examples' own purchase: course 1 at the coins price they name.
        _created(await learner.get("/internal/learners/1/offers/1"), coins_price=990, owned=False)
        top_up = await learner.post(
            "/internal/learners/2/top-ups", json={"amount_rub": 500}, headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        external_id = str(_created(top_up, id=1)["external_id"])
        async with YooKassaEmulatorClient(yookassa_server.base_url) as yookassa:
            await yookassa.pay(external_id)
        # What YooKassa's notification makes billing do (re-read the payment, capture it, credit the coins).
        await payments.settle_yookassa_payment(resources, external_id)
        _created(await operator.get("/internal/payments/1"), status="succeeded")
        invoice = await learner.post(
            "/internal/learners/3/stars-invoices",
            json={"purpose": "top_up", "stars": 100},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        _created(invoice, payment_id=2, amount=100)
    # The payload is 32 random bytes by design (it must not be guessable); the documented example can name
    # this invoice only if it carries the documented payload, so the seed gives it that one.
    async with transaction(resources.sessionmaker) as session:
        payment = await session.get(Payment, 2)
        assert payment is not None
        payment.invoice_payload = EXAMPLE_STARS_PAYLOAD


@pytest.fixture(scope="session")
def api_test_refusals() -> list[ExpectedRefusal]:
    return [
        ExpectedRefusal(
            "POST /internal/learners/{user_id}/stars-invoices",
            (422,),
            "a Stars top-up above the deployment's MAX_STARS_TOP_UP, or too few stars to buy a whole coin at "
            "today's rate: 422",
        ),
        ExpectedRefusal(
            "POST /internal/payments/{payment_id}/refunds",
            (422,),
            "an amount for a Stars payment, which Telegram refunds whole: 422",
        ),
        ExpectedRefusal(
            "PUT /internal/exchange-rates/{currency}",
            (422,),
            "stars_per_unit other than 1 for XTR (a Star is worth one Star): 422",
        ),
        ExpectedRefusal(
            "POST /webhooks/yookassa",
            (422,),
            "an `object` the YooKassa SDK cannot read as a payment or a refund: 422 (the SDK is the parser)",
        ),
    ]


@pytest.fixture(scope="session")
def api_test_no_success() -> list[NoSuccess]:
    """None: every operation succeeds at least once, its examples naming what `_example_world` seeds."""
    return []
