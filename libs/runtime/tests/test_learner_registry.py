"""academy_runtime.learner_registry on the real broker: every version of `users.user_registered` and
`users.user_erased` still in flight is applied (v3 and erased v2 now; v1/v2 queued from before the users
service's issue-10 release), order does not matter, and an erasure runs the service's own erasure in its
transaction, after a write that checked the learner under `lock=True` has committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from academy_contracts.users import (
    UserErasedV1,
    UserErasedV2,
    UserRegisteredV1,
    UserRegisteredV2,
    UserRegisteredV3,
)
from academy_runtime.consumer import ConsumerRuntime, EventContext
from academy_runtime.errors import LearnerNotFoundError
from academy_runtime.learner_registry import (
    LearnerState,
    is_erased,
    learner_registry_consumer,
    learner_state,
)
from academy_runtime.resources import Resources
from academy_runtime.testing import cleanup_broker
from sqlalchemy import DateTime, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from .conftest import Base, Effect, messaging
from .helpers import eventually, publish_event

pytestmark = pytest.mark.integration

REGISTERED_AT = datetime(2026, 3, 1, tzinfo=UTC)
ERASED_AT = datetime(2026, 4, 1, tzinfo=UTC)


class RegistryLearner(Base):
    """A service's registry table, as billing's and progress's `learners` are."""

    __tablename__ = "registry_learners"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


erasures: list[int] = []


async def forget(ctx: EventContext, user_id: int) -> None:
    """The service's erasure: here, the learner's effects go, and the call is remembered."""
    erasures.append(user_id)
    await ctx.session.execute(delete(Effect).where(Effect.user_id == user_id))


registry = learner_registry_consumer(RegistryLearner, on_erased=forget)


@pytest.fixture
async def registry_runtime(resources: Resources, platform) -> AsyncIterator[ConsumerRuntime]:
    erasures.clear()
    runtime = ConsumerRuntime(resources, messaging, [registry])
    await runtime.start()
    yield runtime
    await runtime.stop()
    main = resources.settings.queue_name(registry.purpose)
    retries = [f"{main}.retry.{ms}" for ms in resources.settings.consumer_retry_delays_ms]
    await cleanup_broker(
        platform.infra.rabbitmq_url, platform.run_id, [main, f"{main}.dlq", *retries], delete_exchange=False
    )


def _v3(user_id: int) -> UserRegisteredV3:
    return UserRegisteredV3(
        user_id=user_id,
        telegram_id=10_000 + user_id,
        display_name="Анна С.",
        locale="ru",
        time_zone="Europe/Moscow",
        time_zone_source="default",
        consent_version="2025-01",
        revision=1,
        registered_at=REGISTERED_AT,
    )


async def _row(resources: Resources, user_id: int) -> RegistryLearner | None:
    async with resources.sessionmaker() as session:
        return await session.get(RegistryLearner, user_id)


async def _erased(resources: Resources, user_id: int) -> bool:
    async with resources.sessionmaker() as session:
        return await is_erased(session, RegistryLearner, user_id)


async def test_a_v3_registration_makes_the_learner_known(resources, registry_runtime):
    await publish_event(resources.settings, _v3(201))

    await eventually(lambda: _known(resources, 201), what="registration recorded")
    row = await _row(resources, 201)
    assert (row.registered_at, row.source, row.erased_at) == (REGISTERED_AT, "event", None)
    async with resources.sessionmaker() as session:
        assert await learner_state(session, RegistryLearner, 201) is LearnerState.KNOWN
        assert await learner_state(session, RegistryLearner, 299) is LearnerState.UNKNOWN
        assert await is_erased(session, RegistryLearner, 299) is False


async def _known(resources: Resources, user_id: int) -> bool:
    return await _row(resources, user_id) is not None


async def test_a_v2_erasure_records_it_and_runs_the_services_erasure_in_its_transaction(resources, registry_runtime):
    await publish_event(resources.settings, _v3(202))
    await eventually(lambda: _known(resources, 202), what="registration recorded")
    async with resources.sessionmaker() as session, session.begin():
        session.add(Effect(user_id=202, note="a lesson"))

    await publish_event(resources.settings, UserErasedV2(user_id=202, erased_at=ERASED_AT))

    await eventually(lambda: _erased(resources, 202), what="erasure recorded")
    assert erasures == [202]
    async with resources.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Effect).where(Effect.user_id == 202)) == 0
        with pytest.raises(LearnerNotFoundError):
            await learner_state(session, RegistryLearner, 202)
    assert (await _row(resources, 202)).erased_at == ERASED_AT


async def test_an_erasure_that_overtakes_the_registration_is_not_undone_by_it(resources, registry_runtime):
    await publish_event(resources.settings, UserErasedV2(user_id=203, erased_at=ERASED_AT))
    await eventually(lambda: _erased(resources, 203), what="erasure recorded")

    await publish_event(resources.settings, _v3(203))
    await publish_event(resources.settings, _v3(204))  # a marker behind it
    await eventually(lambda: _known(resources, 204), what="marker handled")

    row = await _row(resources, 203)
    assert (row.erased_at, row.registered_at) == (ERASED_AT, None)


async def test_events_queued_from_before_the_release_are_still_applied(resources, registry_runtime):
    """v1/v2 registrations and v1 erasures are no longer published, but may wait in the queue at the release."""
    await publish_event(
        resources.settings,
        UserRegisteredV1(
            user_id=205, telegram_id=10_205, locale="ru", consent_personal_data=True, registered_at=REGISTERED_AT
        ),
    )
    await publish_event(
        resources.settings,
        UserRegisteredV2(
            user_id=206,
            telegram_id=10_206,
            locale="ru",
            time_zone="Europe/Moscow",
            time_zone_source="default",
            consent_personal_data=True,
            revision=1,
            registered_at=REGISTERED_AT,
        ),
    )
    await publish_event(resources.settings, UserErasedV1(user_id=206, telegram_id=10_206, erased_at=ERASED_AT))

    await eventually(lambda: _known(resources, 205), what="v1 registration")
    await eventually(lambda: _erased(resources, 206), what="v1 erasure")
    assert erasures == [206]  # a v1 erasure forgets the learner as v2 does


async def test_an_erasure_waits_for_a_write_that_checked_the_learner_and_then_erases_it(resources, registry_runtime):
    await publish_event(resources.settings, _v3(207))
    await eventually(lambda: _known(resources, 207), what="registration recorded")

    async with resources.sessionmaker() as session, session.begin():
        assert await learner_state(session, RegistryLearner, 207, lock=True) is LearnerState.KNOWN
        session.add(Effect(user_id=207, note="written while the erasure arrives"))
        await session.flush()
        await publish_event(resources.settings, UserErasedV2(user_id=207, erased_at=ERASED_AT))
        await asyncio.sleep(0.5)
        # The erasure is held by this transaction's share lock on the learner's row.
        assert erasures == []
        assert await _erased(resources, 207) is False

    await eventually(lambda: _erased(resources, 207), what="erasure after the write")
    async with resources.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Effect).where(Effect.user_id == 207)) == 0
