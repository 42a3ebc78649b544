import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aio_pika
import httpx
import pytest
from academy_catalog.app import service as catalog_service
from academy_catalog.cache import CatalogCache
from academy_catalog.models import Category, messaging
from academy_contracts import EventData, build_event
from academy_runtime.consumer import ConsumerRuntime
from academy_runtime.db import transaction
from academy_runtime.service import ServiceDefinition
from academy_runtime.testing import ProducerBus, TestPlatform
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

pytest_plugins = ["academy_runtime.testing"]

# What the initial migration seeds (test_migrations checks the two agree).
CATEGORIES = [
    {"slug": "manicure", "title_ru": "Маникюр", "title_en": "Manicure", "sort_order": 1},
    {"slug": "pedicure", "title_ru": "Педикюр", "title_en": "Pedicure", "sort_order": 2},
    {"slug": "eyelashes", "title_ru": "Ресницы", "title_en": "Eyelashes", "sort_order": 3},
    {"slug": "podology", "title_ru": "Подология", "title_en": "Podology", "sort_order": 4},
    {"slug": "eyebrows", "title_ru": "Брови", "title_en": "Eyebrows", "sort_order": 5},
    {"slug": "marketing", "title_ru": "Реклама и маркетинг", "title_en": "Advertising and marketing", "sort_order": 6},
    {"slug": "business", "title_ru": "Своё дело", "title_en": "Own business", "sort_order": 7},
]


@pytest.fixture(scope="session")
def service() -> ServiceDefinition:
    return catalog_service


@pytest.fixture(scope="session")
def api(operator_api: httpx.AsyncClient) -> httpx.AsyncClient:
    """The catalog's tests drive it as its editors do: an operator with the catalog-editor role (every
    catalog endpoint admits it). What the gateway may and may not do is in test_callers.py."""
    return operator_api


@pytest.fixture(scope="session")
def reference_categories() -> list[dict[str, Any]]:
    return CATEGORIES


@pytest.fixture(autouse=True)
async def _reference_categories(request: pytest.FixtureRequest) -> None:
    """The migration seeds the categories; the runtime's `_empty_tables` truncates them after each test."""
    if "resources" not in request.fixturenames:
        return
    resources = request.getfixturevalue("resources")
    async with transaction(resources.sessionmaker) as session:
        await session.execute(insert(Category).values(CATEGORIES).on_conflict_do_nothing())
    # Tables are emptied between tests behind the cache's back (ids restart at 1): start from a clean cache.
    await CatalogCache(resources).invalidate()


def course_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "title": "Аппаратный маникюр: базовый курс",
        "description": "С нуля до первой клиентки",
        "category": "manicure",
        "price": "4900.00",
        "currency": "RUB",
        "duration_hours": 12,
        "lessons": [
            {"title": "Снятие покрытия", "order": 2, "video_url": "https://cdn.example/2.mp4", "video_duration": 1260},
            {"title": "Подготовка рабочего места", "order": 1, "is_free": True, "video_duration": 540},
        ],
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def new_course(api) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Create a course through the API (and publish / archive it on request)."""

    async def create(*, publish: bool = False, archive: bool = False, **overrides: Any) -> dict[str, Any]:
        response = await api.post("/internal/courses", json=course_payload(**overrides))
        assert response.status_code == 201, response.text
        course: dict[str, Any] = response.json()
        if publish:
            course = (await api.post(f"/internal/courses/{course['id']}/publish")).json()
        if archive:
            course = (await api.post(f"/internal/courses/{course['id']}/archive")).json()
        return course

    return create


@pytest.fixture
def make_payload() -> Callable[..., dict[str, Any]]:
    """A valid `POST /internal/courses` body, with any field replaced."""
    return course_payload


async def outbox_rows(resources: Any) -> list[Any]:
    """Every event the catalog wrote to its outbox, oldest first."""
    async with resources.sessionmaker() as session:
        return list((await session.execute(select(messaging.outbox).order_by(messaging.outbox.c.id))).all())


@pytest.fixture
def outbox(resources: Any) -> Callable[[], Awaitable[list[Any]]]:
    return lambda: outbox_rows(resources)


@pytest.fixture
def eventually() -> Callable[..., Awaitable[None]]:
    """Wait until `check()` holds (the consumer works in the background); fail after a generous deadline."""

    async def wait(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
        async with asyncio.timeout(timeout):
            while True:
                if await check():
                    return
                await asyncio.sleep(0.05)

    return wait


class Bus:
    """Publishes events on the run's exchange, as another service's relay would."""

    def __init__(self, exchange: ProducerBus) -> None:
        self.exchange = exchange

    async def publish(self, data: EventData, *, event_id: str | None = None) -> str:
        event = build_event(data, event_id=event_id) if event_id else build_event(data)
        await self.exchange.publish(
            aio_pika.Message(body=event.model_dump_json(exclude_none=True).encode(), content_type="application/json"),
            routing_key=event.type,
        )
        return event.id


@pytest.fixture
async def bus(resources: Any, platform: TestPlatform) -> AsyncIterator[Bus]:
    """The catalog's consumers running against the real broker, and a way to publish to them (as each
    event's producer, with its broker user)."""
    runtime = ConsumerRuntime(resources, messaging, catalog_service.consumers)
    await runtime.start()
    producers = ProducerBus(platform)
    try:
        yield Bus(producers)
    finally:
        await producers.close()
        await runtime.stop()


@pytest.fixture
def redis_commands(resources, monkeypatch) -> list[str]:
    """The Redis commands the process's client sends through `execute_command` (every command of a read),
    recorded from the moment a test clears the list."""
    commands: list[str] = []
    real = resources.redis.execute_command

    async def counting(*args, **kwargs):
        commands.append(str(args[0]))
        return await real(*args, **kwargs)

    monkeypatch.setattr(resources.redis, "execute_command", counting)
    return commands


def cache_requests(query: str, outcome: str) -> float:
    """`academy_catalog_cache_requests_total{query, outcome}` as this process counted it so far."""
    value = REGISTRY.get_sample_value("academy_catalog_cache_requests_total", {"query": query, "outcome": outcome})
    return value or 0.0
