"""A tiny service of the runtime's own, with a table its handlers write to, to test the machinery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import aio_pika
import httpx
import pytest
from academy_contracts.gamification import PointsAwardedV1
from academy_contracts.users import UserRegisteredV1
from academy_runtime.consumer import Consumer, ConsumerRuntime, EventContext, declare_consumer_queues
from academy_runtime.db import service_metadata
from academy_runtime.http import create_app
from academy_runtime.messaging import Messaging
from academy_runtime.resources import Resources
from academy_runtime.service import ServiceDefinition
from academy_runtime.settings import ServiceSettings
from fastapi import APIRouter
from sqlalchemy import Integer, String, func, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

pytest_plugins = ["academy_runtime.testing"]

SCHEMA = "rt_test"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


messaging = Messaging(Base.metadata)


class Effect(Base):
    """One row per handled event: what the tests count."""

    __tablename__ = "effects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    note: Mapped[str] = mapped_column(String(100), nullable=False)


class Snapshot(Base):
    """A projected row with a version, for `academy_runtime.projections`."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[str] = mapped_column(String(100), nullable=False)
    note: Mapped[str | None] = mapped_column(String(100))
    revision: Mapped[int | None] = mapped_column(Integer)


class FailurePlan:
    """How many times the handler should still fail, per user id (-1: always)."""

    def __init__(self) -> None:
        self.remaining: dict[int, int] = {}
        self.calls: dict[int, int] = {}
        self.transactions: dict[int, int] = {}
        """user id → the id of the transaction its handler last ran in (batches share one)."""


failures = FailurePlan()
registrations = Consumer("registrations")


@registrations.on(UserRegisteredV1)
async def record_registration(ctx: EventContext, event: UserRegisteredV1) -> None:
    failures.calls[event.user_id] = failures.calls.get(event.user_id, 0) + 1
    failures.transactions[event.user_id] = (await ctx.session.execute(text("SELECT txid_current()"))).scalar_one()
    ctx.session.add(Effect(user_id=event.user_id, note=f"attempt {ctx.attempt}"))
    await ctx.session.flush()
    left = failures.remaining.get(event.user_id, 0)
    if left != 0:
        failures.remaining[event.user_id] = left - 1 if left > 0 else left
        raise RuntimeError(f"planned failure for user {event.user_id}")
    # the handler also publishes, in the same transaction, like real services do
    await messaging.publish(
        ctx.session,
        PointsAwardedV1(
            user_id=event.user_id,
            award_id=event.user_id,
            points=5,
            reason="welcome",
            source_event_id=ctx.event.id,
            total_points=5,
            awarded_at=event.registered_at,
        ),
    )


class RuntimeTestSettings(ServiceSettings):
    service_name: str = "rt-test"
    db_schema: str = SCHEMA


test_service = ServiceDefinition(
    name="rt_test",
    settings_factory=RuntimeTestSettings,
    metadata=Base.metadata,
    messaging=messaging,
    migrations="unused",
    consumers=[registrations],
)


@asynccontextmanager
async def serving(
    *routers: APIRouter, settings: ServiceSettings, resources: Resources | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the runtime's app serving `routers` (an error escaping is answered 500, not raised)."""
    app = create_app(replace(test_service, routers=list(routers)), settings)
    if resources is not None:
        app.state.resources = resources  # the test owns the resources; the app's lifespan is not run
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://rt") as client:
        yield client


@pytest.fixture(scope="session")
def service() -> ServiceDefinition:
    return test_service


@pytest.fixture(scope="session")
def extra_schemas() -> tuple[str, ...]:
    return (SCHEMA,)


@pytest.fixture(scope="session")
async def migrated(settings: ServiceSettings) -> ServiceSettings:
    """The runtime's test service has no migrations: create_all as its own role."""
    engine = create_async_engine(settings.database_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()
    return settings


@pytest.fixture(autouse=True)
def _publish_as_producers(request: pytest.FixtureRequest) -> None:
    """Tests on the platform publish their events as the producing service's broker user (tests/helpers.py)."""
    from . import helpers

    helpers.PLATFORM = request.getfixturevalue("platform") if "platform" in request.fixturenames else None


@pytest.fixture(autouse=True)
def _reset_failures() -> None:
    failures.remaining.clear()
    failures.calls.clear()
    failures.transactions.clear()


async def purge_registrations(settings: ServiceSettings) -> None:
    """Empty the `registrations` consumer's main, retry and dead-letter queues (the session shares them)."""
    await declare_consumer_queues(settings, [registrations])
    main = settings.queue_name("registrations")
    connection = await aio_pika.connect(settings.rabbitmq_url)
    try:
        channel = await connection.channel()
        retries = [f"{main}.retry.{ms}" for ms in settings.consumer_retry_delays_ms]
        for name in (main, f"{main}.dlq", *retries):
            await (await channel.declare_queue(name, passive=True)).purge()
    finally:
        await connection.close()


@pytest.fixture
async def runtime(resources: Resources) -> AsyncIterator[ConsumerRuntime]:
    """The `registrations` consumer running on the session's resources; its queues empty afterwards."""
    consumer_runtime = ConsumerRuntime(resources, messaging, [registrations])
    await consumer_runtime.start()
    yield consumer_runtime
    await consumer_runtime.stop()
    await purge_registrations(resources.settings)


async def effects(resources: Resources, user_id: int) -> int:
    """How many effects the `registrations` handler left for `user_id`."""
    async with resources.sessionmaker() as session:
        stmt = select(func.count()).select_from(Effect).where(Effect.user_id == user_id)
        return (await session.execute(stmt)).scalar_one()
