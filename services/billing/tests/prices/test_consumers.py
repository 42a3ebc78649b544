from datetime import UTC, datetime
from decimal import Decimal

import pytest
from academy_billing.models import CoursePrice, messaging
from academy_billing.prices.consumers import (
    catalog_prices,
    record_published_course_price,
    record_updated_course_price,
    take_archived_course_off_sale,
)
from academy_contracts import CourseArchivedV1, CoursePublishedV1, CourseUpdatedV1, Money, build_event
from academy_runtime.consumer import ConsumerRuntime, EventContext
from academy_runtime.db import transaction
from sqlalchemy import select

pytestmark = pytest.mark.integration

T1 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
T2 = datetime(2025, 3, 2, 10, 0, tzinfo=UTC)
T3 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


def _snapshot(course_id: int, price: str, currency: str = "RUB", *, title: str = "Маникюр", is_active: bool = True):
    return {
        "course_id": course_id,
        "title": title,
        "category": "manicure",
        "price": Money(amount=Decimal(price), currency=currency),
        "is_top": False,
        "is_active": is_active,
        "lessons": (),
    }


def published(course_id: int, price: str, at: datetime, **kw) -> CoursePublishedV1:
    return CoursePublishedV1(**_snapshot(course_id, price, **kw), published_at=at)


def updated(course_id: int, price: str, at: datetime, **kw) -> CourseUpdatedV1:
    return CourseUpdatedV1(**_snapshot(course_id, price, **kw), updated_at=at)


def archived(course_id: int, at: datetime) -> CourseArchivedV1:
    return CourseArchivedV1(course_id=course_id, archived_at=at)


HANDLERS = {
    CoursePublishedV1: record_published_course_price,
    CourseUpdatedV1: record_updated_course_price,
    CourseArchivedV1: take_archived_course_off_sale,
}


@pytest.fixture
def deliver(resources):
    """Hand events to the catalog-prices handlers, each in its own transaction, in the given order."""

    async def run(*events) -> None:
        for data in events:
            async with transaction(resources.sessionmaker) as session:
                ctx = EventContext(
                    session=session, event=build_event(data), resources=resources, consumer="catalog-prices", attempt=1
                )
                await HANDLERS[type(data)](ctx, data)

    return run


async def _price(resources, course_id: int) -> CoursePrice | None:
    async with resources.sessionmaker() as session:
        statement = select(CoursePrice).where(CoursePrice.course_id == course_id)
        return (await session.execute(statement)).scalar_one_or_none()


async def test_a_published_course_gets_a_price(resources, deliver):
    await deliver(published(1, "4900.00", T1, title="Аппаратный маникюр"))

    row = await _price(resources, 1)
    assert (row.price, row.currency, row.stars_price, row.title, row.is_active) == (
        Decimal("4900.00"),
        "RUB",
        None,
        "Аппаратный маникюр",
        True,
    )
    assert row.updated_at == T1


async def test_a_course_priced_in_stars_has_a_stars_price(resources, deliver):
    await deliver(published(2, "250", T1, currency="XTR"))

    assert (await _price(resources, 2)).stars_price == 250


@pytest.mark.parametrize(
    "order",
    [("published", "updated"), ("updated", "published")],
)
async def test_the_newest_update_wins_whatever_the_delivery_order(resources, deliver, order):
    events = {"published": published(3, "1000.00", T1), "updated": updated(3, "1500.00", T2, title="Новый")}

    await deliver(*(events[name] for name in order))

    row = await _price(resources, 3)
    assert (row.price, row.title, row.updated_at) == (Decimal("1500.00"), "Новый", T2)


@pytest.mark.parametrize(
    "order",
    [
        ("published", "updated", "archived"),
        ("archived", "updated", "published"),
        ("updated", "archived", "published"),
    ],
)
async def test_an_archived_course_stays_off_sale_whatever_the_delivery_order(resources, deliver, order):
    events = {
        "published": published(4, "1000.00", T1),
        "updated": updated(4, "1200.00", T2),
        "archived": archived(4, T3),
    }

    await deliver(*(events[name] for name in order))

    row = await _price(resources, 4)
    assert row.is_active is False
    assert row.updated_at == T3


async def test_an_archive_seen_before_the_course_leaves_a_tombstone_that_a_newer_update_fills(resources, deliver):
    await deliver(archived(5, T2))
    tombstone = await _price(resources, 5)
    assert (tombstone.is_active, tombstone.price, tombstone.title) == (False, None, None)

    await deliver(published(5, "900.00", T1))  # older than the archive: ignored
    assert (await _price(resources, 5)).price is None

    await deliver(updated(5, "990.00", T3))  # the catalog re-activated the course later
    row = await _price(resources, 5)
    assert (row.price, row.is_active) == (Decimal("990.00"), True)


async def test_a_course_in_a_currency_billing_cannot_take_is_not_for_sale(resources, deliver):
    await deliver(published(6, "10.00", T1))
    await deliver(updated(6, "12.00", T2, currency="EUR"))

    row = await _price(resources, 6)
    assert row.is_active is False
    assert row.price is None


async def test_catalog_events_reach_the_projection_through_the_broker(resources, publish, eventually):
    runtime = ConsumerRuntime(resources, messaging, [catalog_prices])
    await runtime.start()
    try:
        # Newest first: the older event arrives late and must not win.
        for data in (updated(7, "2000.00", T2), published(7, "1000.00", T1)):
            event = build_event(data)
            await publish(event.to_json(), event.type)

        async def settled() -> bool:
            row = await _price(resources, 7)
            return row is not None and row.updated_at == T2

        await eventually(settled, what="projection updated")
        await eventually(_inbox_has(resources, 2), what="both events handled")
    finally:
        await runtime.stop()

    assert (await _price(resources, 7)).price == Decimal("2000.00")


def _inbox_has(resources, count: int):
    async def check() -> bool:
        async with resources.sessionmaker() as session:
            rows = (await session.execute(select(messaging.inbox.c.event_id))).all()
        return len(rows) == count

    return check
