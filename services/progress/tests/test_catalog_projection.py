"""The catalog-projection consumer, driven through RabbitMQ and the real consumer runtime."""

from decimal import Decimal

import pytest
from academy_contracts import CourseArchivedV1, CourseUpdatedV1
from academy_progress.models import CourseProjection, LessonProjection, messaging
from sqlalchemy import func, select

pytestmark = pytest.mark.integration

CONSUMER = "catalog-projection"


async def _projection(resources, course_id: int) -> tuple[CourseProjection | None, list[LessonProjection]]:
    async with resources.sessionmaker() as session:
        course = await session.get(CourseProjection, course_id)
        lessons = (
            (
                await session.execute(
                    select(LessonProjection)
                    .where(LessonProjection.course_id == course_id)
                    .order_by(LessonProjection.order)
                )
            )
            .scalars()
            .all()
        )
    return course, list(lessons)


async def test_course_published_is_projected_with_its_lessons(bus, resources, wait_for, make_course_event, t0):
    event = await bus.publish(make_course_event(7, lesson_ids=(71, 72, 73), price="4900.00"))
    await wait_for(lambda: bus.handled(event, CONSUMER))

    course, lessons = await _projection(resources, 7)
    assert course is not None
    assert course.title == "Курс 7"
    assert course.category == "manicure"
    assert course.price == Decimal("4900.00")
    assert course.currency == "RUB"
    assert course.lessons_total == 3
    assert course.is_active is True
    assert course.updated_at == t0
    assert [(lesson.lesson_id, lesson.order) for lesson in lessons] == [(71, 1), (72, 2), (73, 3)]


async def test_a_duplicate_delivery_has_one_effect(bus, resources, wait_for, make_course_event, consumed):
    data = make_course_event(8, lesson_ids=(81, 82))
    before = consumed(CONSUMER, "catalog.course_published.v1", "duplicate")

    first = await bus.publish(data)
    again = await bus.publish(data, event_id=first.id)
    await wait_for(lambda: bus.handled(first, CONSUMER))
    await wait_for(lambda: consumed(CONSUMER, "catalog.course_published.v1", "duplicate") == before + 1)

    assert again.id == first.id
    _, lessons = await _projection(resources, 8)
    assert len(lessons) == 2
    async with resources.sessionmaker() as session:
        inbox_rows = await session.scalar(
            select(func.count()).select_from(messaging.inbox).where(messaging.inbox.c.event_id == first.id)
        )
    assert inbox_rows == 1


async def test_an_older_update_arriving_late_does_not_overwrite_a_newer_one(
    bus, resources, wait_for, make_course_event, later
):
    newer = make_course_event(
        9, lesson_ids=(91, 92), title="Новое название", price="990.00", model=CourseUpdatedV1, at=later(60)
    )
    older = make_course_event(
        9, lesson_ids=(91, 92, 93), title="Старое название", price="490.00", model=CourseUpdatedV1, at=later(30)
    )
    published = make_course_event(9, lesson_ids=(91,), title="Первое название", at=later(0))

    for data in (newer, older, published):
        event = await bus.publish(data)
        await wait_for(lambda event=event: bus.handled(event, CONSUMER))

    course, lessons = await _projection(resources, 9)
    assert course is not None
    assert course.title == "Новое название"
    assert course.price == Decimal("990.00")
    assert course.updated_at == later(60)
    assert course.lessons_total == 2
    assert [lesson.lesson_id for lesson in lessons] == [91, 92]


async def test_a_newer_update_replaces_the_course_and_its_lesson_list(
    bus, resources, wait_for, make_course_event, later
):
    for data in (
        make_course_event(10, lesson_ids=(101, 102, 103), at=later(0)),
        make_course_event(10, lesson_ids=(103, 101), title="Переработанный курс", model=CourseUpdatedV1, at=later(5)),
    ):
        event = await bus.publish(data)
        await wait_for(lambda event=event: bus.handled(event, CONSUMER))

    course, lessons = await _projection(resources, 10)
    assert course is not None
    assert course.title == "Переработанный курс"
    assert course.lessons_total == 2
    assert [(lesson.lesson_id, lesson.order) for lesson in lessons] == [(103, 1), (101, 2)]


async def test_archived_before_published_leaves_the_course_archived(bus, resources, wait_for, make_course_event, later):
    archived = await bus.publish(CourseArchivedV1(course_id=11, archived_at=later(90)))
    await wait_for(lambda: bus.handled(archived, CONSUMER))
    tombstone, _ = await _projection(resources, 11)

    published = await bus.publish(make_course_event(11, lesson_ids=(111,), at=later(0)))
    await wait_for(lambda: bus.handled(published, CONSUMER))
    updated = await bus.publish(make_course_event(11, lesson_ids=(111,), model=CourseUpdatedV1, at=later(120)))
    await wait_for(lambda: bus.handled(updated, CONSUMER))

    assert tombstone is not None
    assert tombstone.title is None
    assert tombstone.is_active is False
    course, lessons = await _projection(resources, 11)
    assert course is not None
    assert course.title == "Курс 11"  # the snapshot fills the tombstone...
    assert course.is_active is False  # ...but archiving is final
    assert course.archived_at == later(90)
    assert [lesson.lesson_id for lesson in lessons] == [111]


async def test_archived_after_published_hides_the_course(bus, resources, wait_for, make_course_event, later):
    for data in (
        make_course_event(12, lesson_ids=(121,), at=later(0)),
        CourseArchivedV1(course_id=12, archived_at=later(10)),
    ):
        event = await bus.publish(data)
        await wait_for(lambda event=event: bus.handled(event, CONSUMER))

    course, _ = await _projection(resources, 12)
    assert course is not None
    assert course.is_active is False
    assert course.archived_at == later(10)
    assert course.title == "Курс 12"
