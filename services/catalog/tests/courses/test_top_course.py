"""The course of the month: the operator's flag, else the most enrolled this month, else the newest."""

from datetime import UTC, datetime, timedelta

import pytest
from academy_catalog.courses.service import month_start
from academy_catalog.enrolments.repository import EnrolmentRepository
from academy_catalog.models import CourseEnrolment
from academy_contracts.progress import CourseEnrolledV1
from academy_runtime.db import transaction
from sqlalchemy import func, select

pytestmark = pytest.mark.integration


async def _enrol(resources, course_id: int, users: range, at: datetime | None = None) -> None:
    async with transaction(resources.sessionmaker) as session:
        for user_id in users:
            await EnrolmentRepository(session).record(
                user_id=user_id, course_id=course_id, enrolled_at=at or datetime.now(UTC)
            )


async def _top(api) -> dict:
    response = await api.get("/internal/courses/top")
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_operators_flag_wins_over_enrolments(api, resources, new_course):
    flagged = await new_course(publish=True, title="Курс месяца", is_top=True)
    popular = await new_course(publish=True, title="Популярный")
    await _enrol(resources, popular["id"], range(1, 6))

    top = await _top(api)

    assert top["id"] == flagged["id"]
    assert top["is_top"] is True
    assert [lesson["order"] for lesson in top["lessons"]] == [1, 2]


async def test_without_a_flag_the_most_enrolled_this_month_wins(api, resources, new_course):
    quiet = await new_course(publish=True, title="Тихий")
    popular = await new_course(publish=True, title="Популярный")
    newest = await new_course(publish=True, title="Новейший")
    await _enrol(resources, popular["id"], range(1, 4))
    await _enrol(resources, quiet["id"], range(1, 3))
    # Last month's crowd does not count.
    await _enrol(resources, newest["id"], range(10, 20), at=month_start("Europe/Moscow") - timedelta(minutes=1))

    assert (await _top(api))["id"] == popular["id"]


async def test_without_a_flag_or_enrolments_the_newest_wins(api, new_course):
    await new_course(publish=True, title="Старый")
    newest = await new_course(publish=True, title="Новый")
    await new_course(title="Черновик")

    assert (await _top(api))["id"] == newest["id"]


async def test_a_hidden_flagged_course_is_never_the_top(api, new_course):
    visible = await new_course(publish=True, title="Виден")
    await new_course(publish=True, is_top=True, is_active=False, title="Скрыт")
    await new_course(publish=True, archive=True, is_top=True, title="В архиве")

    assert (await _top(api))["id"] == visible["id"]


async def test_an_empty_catalog_has_no_top_course(api, new_course):
    await new_course(title="Черновик")

    response = await api.get("/internal/courses/top")

    assert response.status_code == 404


def test_the_month_starts_in_moscow():
    # 21:30 UTC on 31 March is already 1 April in Moscow (UTC+3).
    start = month_start("Europe/Moscow", datetime(2026, 3, 31, 21, 30, tzinfo=UTC))

    assert start.astimezone(UTC) == datetime(2026, 3, 31, 21, 0, tzinfo=UTC)


async def test_enrolment_events_feed_the_top_course_once_per_enrolment(api, resources, new_course, bus, eventually):
    quiet = await new_course(publish=True, title="Тихий")
    popular = await new_course(publish=True, title="Популярный")
    now = datetime.now(UTC)

    def enrolled(user_id: int, course_id: int, enrollment_id: int, at: datetime = now) -> CourseEnrolledV1:
        return CourseEnrolledV1(
            user_id=user_id, course_id=course_id, enrollment_id=enrollment_id, source="free", enrolled_at=at
        )

    first = await bus.publish(enrolled(1, quiet["id"], 1))
    await bus.publish(enrolled(1, quiet["id"], 1), event_id=first)  # redelivered: same event id
    await bus.publish(enrolled(1, quiet["id"], 1, now - timedelta(seconds=5)))  # the same fact, another id
    await bus.publish(enrolled(2, popular["id"], 2))
    await bus.publish(enrolled(3, popular["id"], 3))

    async def all_recorded() -> bool:
        async with resources.sessionmaker() as session:
            return await session.scalar(select(func.count()).select_from(CourseEnrolment)) == 3

    await eventually(all_recorded)
    async with resources.sessionmaker() as session:
        rows = (await session.execute(select(CourseEnrolment).order_by(CourseEnrolment.user_id))).scalars().all()
    assert [(row.user_id, row.course_id) for row in rows] == [(1, quiet["id"]), (2, popular["id"]), (3, popular["id"])]
    # Told twice about one enrolment, the catalog keeps its earliest time.
    assert rows[0].enrolled_at == now - timedelta(seconds=5)
    assert (await _top(api))["id"] == popular["id"]
