"""No write keyed by a learner id lands on a learner nobody registered (QA: an operator's adjustment for
user 1 before anyone registered reached the first learner to register).

Billing knows learners from `users.user_registered` (its `learner-registry` consumer, on the real broker)
and, for one whose event has not arrived, from the users service: here a stub of its one call, with the
learners it "has" in `users_known`."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from academy_billing.learners.consumers import learner_registry
from academy_billing.learners.service import record_erased, record_registered
from academy_billing.models import KnownLearner, Payment, Wallet, WalletTransaction, messaging
from academy_contracts import UserRegisteredV2, build_event
from academy_runtime.auth import TokenCache
from academy_runtime.client import ServiceClient
from academy_runtime.consumer import ConsumerRuntime
from academy_runtime.resources import Resources
from sqlalchemy import func, select

pytestmark = pytest.mark.integration

NOBODY = 2_147_483_000


class UsersStub:
    """The users service, as billing asks it (GET /internal/users/{id}): 200 for the ids in `known`."""

    def __init__(self) -> None:
        self.known: set[int] = set()
        self.asked: list[int] = []

    def add(self, user_id: int) -> None:
        self.known.add(user_id)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        user_id = int(request.url.path.rsplit("/", 1)[1])
        self.asked.append(user_id)
        if user_id not in self.known:
            return httpx.Response(404, json={"error": {"code": "not_found", "message": "no such learner"}})
        return httpx.Response(200, json={"id": user_id, "phone": "+79161234567", "created_at": "2026-01-01T00:00:00Z"})


@pytest.fixture
async def users_known(resources: Resources) -> AsyncIterator[UsersStub]:
    stub = UsersStub()
    providers = resources.extras["providers"]
    replaced = providers.users
    providers.users = ServiceClient(
        "users", "http://users", TokenCache.from_settings(resources.settings), transport=httpx.MockTransport(stub)
    )
    yield stub
    await providers.users.aclose()
    providers.users = replaced


async def _count(resources: Resources, model, user_id: int) -> int:
    async with resources.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model).where(model.user_id == user_id))


def _key() -> dict[str, str]:
    return {"idempotency-key": uuid.uuid4().hex}


def _registered(user_id: int) -> UserRegisteredV2:
    return UserRegisteredV2(
        user_id=user_id,
        telegram_id=700_000 + user_id,
        locale="ru",
        time_zone="Europe/Moscow",
        time_zone_source="city",
        consent_personal_data=True,
        consent_version="1",
        revision=1,
        registered_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


async def test_an_adjustment_before_anyone_registered_is_refused_and_the_first_learner_starts_empty(
    resources, operator_api, api, publish, eventually, users_known
):
    refused = await operator_api.post(
        "/internal/wallets/1/adjustments", json={"delta": 1, "reason": "qa test"}, headers=_key()
    )

    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "learner_not_found"
    assert await _count(resources, WalletTransaction, 1) == 0
    assert await _count(resources, Wallet, 1) == 0

    # A minute later the first learner registers and gets id 1: their wallet is empty and has no history.
    runtime = ConsumerRuntime(resources, messaging, [learner_registry])
    await runtime.start()
    try:
        event = build_event(_registered(1))
        await publish(event.to_json(), event.type)

        async def recorded() -> bool:
            return await _count(resources, KnownLearner, 1) == 1

        await eventually(recorded, what="registration projected")
    finally:
        await runtime.stop()
    wallet = (await api.get("/internal/wallets/1")).json()
    assert wallet["coins"] == 0
    assert (await api.get("/internal/wallets/1/transactions")).json()["items"] == []

    # Now the learner exists, and billing knew it without asking the users service.
    accepted = await operator_api.post(
        "/internal/wallets/1/adjustments", json={"delta": 1, "reason": "qa test"}, headers=_key()
    )
    assert accepted.status_code == 200, accepted.text
    assert users_known.asked == [1]  # only for the refused adjustment, before the event


@pytest.mark.parametrize(
    ("method", "path", "body", "who"),
    [
        ("POST", f"/internal/wallets/{NOBODY}/adjustments", {"delta": 1, "reason": "qa test"}, "operator"),
        ("PUT", f"/internal/wallets/{NOBODY}/settings", {"confirm_purchases": False}, "gateway"),
        ("POST", f"/internal/learners/{NOBODY}/purchases", {"course_id": 1, "coins_price": 10}, "gateway"),
        ("POST", f"/internal/learners/{NOBODY}/stars-invoices", {"purpose": "top_up", "stars": 50}, "gateway"),
        ("POST", f"/internal/learners/{NOBODY}/top-ups", {"amount_rub": 500}, "gateway"),
        ("POST", f"/internal/learners/{NOBODY}/course-payments/1", None, "gateway"),
    ],
)
async def test_every_write_for_an_unknown_learner_is_a_404_and_writes_nothing(
    resources, api, operator_api, users_known, method, path, body, who
):
    client = operator_api if who == "operator" else api

    response = await client.request(method, path, json=body, headers=_key())

    assert response.status_code == 404, response.text
    assert response.json()["error"] == {
        "code": "learner_not_found",
        "message": f"learner {NOBODY} is not known",
        "details": {"user_id": NOBODY},
    }
    for model in (Wallet, WalletTransaction, Payment, KnownLearner):
        assert await _count(resources, model, NOBODY) == 0, model.__name__


async def test_a_learner_whose_event_has_not_arrived_is_confirmed_by_the_users_service_once(
    resources, api, users_known
):
    users_known.add(31)

    first = await api.put("/internal/wallets/31/settings", json={"confirm_purchases": False})
    second = await api.put("/internal/wallets/31/settings", json={"confirm_purchases": True})

    assert (first.status_code, second.status_code) == (200, 200)
    assert users_known.asked == [31]
    async with resources.sessionmaker() as session:
        learner = await session.get(KnownLearner, 31)
    assert learner is not None
    assert learner.source == "users_service"


async def test_an_erased_learner_takes_no_new_write_even_if_the_erasure_came_first(
    resources, in_transaction, operator_api, users_known
):
    users_known.add(32)
    erased_at = datetime(2026, 2, 1, tzinfo=UTC)
    await in_transaction(lambda s: record_erased(s, user_id=32, erased_at=erased_at))
    await in_transaction(
        lambda s: record_registered(s, user_id=32, registered_at=datetime(2026, 1, 1, tzinfo=UTC), source="event")
    )

    response = await operator_api.post(
        "/internal/wallets/32/adjustments", json={"delta": 5, "reason": "goodwill"}, headers=_key()
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "learner_not_found"
    assert users_known.asked == []
