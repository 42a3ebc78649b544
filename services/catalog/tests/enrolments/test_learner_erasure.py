"""A learner's erasure (`users.user_erased.v2`) through the real consumer: the catalog's one record of
learners, their enrolments, keeps counting for the course of the month but names nobody; no row of the
catalog schema and no Redis key or value holds their user id but the tombstone; an enrolment announced
after the erasure is not recorded."""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from academy_catalog.models import CourseEnrolment, ErasedLearner, messaging
from academy_contracts.progress import CourseEnrolledV1
from academy_contracts.users import UserErasedV2
from academy_runtime.testing import redis_entries_mentioning, rows_mentioning
from sqlalchemy import func, select

pytestmark = pytest.mark.integration

ZINAIDA, OTHER = 918_273, 918_274
AT = datetime(2026, 12, 1, 21, 30, 15, tzinfo=UTC)  # 2 December, 00:30:15 in Moscow


def enrolled(user_id: int, course_id: int, at: datetime = AT) -> CourseEnrolledV1:
    return CourseEnrolledV1(
        user_id=user_id, course_id=course_id, enrollment_id=user_id + course_id, source="free", enrolled_at=at
    )


async def handled(resources) -> int:
    async with resources.sessionmaker() as session:
        inbox = messaging.inbox
        return int(await session.scalar(select(func.count()).select_from(inbox)) or 0)


async def counts(resources) -> dict[int, int]:
    async with resources.sessionmaker() as session:
        rows = await session.execute(
            select(CourseEnrolment.course_id, func.count().label("enrolments")).group_by(CourseEnrolment.course_id)
        )
        return {row.course_id: row.enrolments for row in rows}


def the_id(user_id: int) -> re.Pattern[str]:
    return re.compile(rf"(?<!\d){user_id}(?!\d)")


async def leftovers(resources, user_id: int) -> list[str]:
    """Every row of the catalog schema (as text, but the tombstones') and every Redis key of the run, by its
    name and value, that holds the user id."""
    async with resources.sessionmaker() as session:
        rows = await rows_mentioning(session, "catalog", [the_id(user_id)], except_tables=("erased_learners",))
    return rows + await redis_entries_mentioning(resources.redis, resources.settings.redis_prefix, [the_id(user_id)])


async def test_an_erased_learners_enrolments_count_but_name_nobody(api, resources, new_course, bus, eventually):
    first = await new_course(publish=True, title="Первый")
    second = await new_course(publish=True, title="Второй")
    for user_id, course in ((ZINAIDA, first), (ZINAIDA, second), (OTHER, second)):
        await bus.publish(enrolled(user_id, course["id"]))
    await eventually(lambda: _at_least(resources, 3))
    top = (await api.get("/internal/courses/top")).json()["id"]
    before = await counts(resources)
    assert await leftovers(resources, ZINAIDA)  # the search finds her enrolments before the erasure

    await bus.publish(UserErasedV2(user_id=ZINAIDA, erased_at=datetime.now(UTC)))
    await eventually(lambda: _at_least(resources, 4))

    assert await leftovers(resources, ZINAIDA) == []
    assert await counts(resources) == before  # the course of the month counts her enrolments still
    async with resources.sessionmaker() as session:
        detached = list(
            (await session.execute(select(CourseEnrolment).where(CourseEnrolment.user_id.is_(None)))).scalars()
        )
        assert await session.get(ErasedLearner, ZINAIDA) is not None
    moscow_day = datetime(2026, 12, 2, tzinfo=ZoneInfo("Europe/Moscow"))
    assert sorted(row.course_id for row in detached) == sorted([first["id"], second["id"]])
    assert {row.enrolled_at for row in detached} == {moscow_day}  # the day she enrolled on, in the same month
    assert (await api.get("/internal/courses/top")).json()["id"] == top

    # An enrolment announced after the erasure (late, or again under another event id) is not recorded.
    third = await new_course(publish=True, title="Третий")
    await bus.publish(enrolled(ZINAIDA, third["id"]))
    await bus.publish(enrolled(ZINAIDA, first["id"]))
    await bus.publish(UserErasedV2(user_id=ZINAIDA, erased_at=datetime.now(UTC)))  # told again: no change
    await eventually(lambda: _at_least(resources, 7))

    assert await leftovers(resources, ZINAIDA) == []
    assert await counts(resources) == before


async def _at_least(resources, count: int) -> bool:
    return await handled(resources) >= count
