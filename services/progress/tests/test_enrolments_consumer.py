"""The enrolments consumer: billing.course_purchased → user_courses + progress.course_enrolled."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from academy_contracts import CoursePurchasedV1, Money
from academy_progress.models import UserCourse, messaging
from sqlalchemy import select

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
async def _registered_learners(register_learners):
    """The learners these tests write for, registered (an unknown one gets 404 `learner_not_found`)."""
    await register_learners(46)


CONSUMER = "enrolments"
PURCHASED_AT = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)


def _purchase(*, purchase_id: int = 501, user_id: int = 42, course_id: int = 7) -> CoursePurchasedV1:
    return CoursePurchasedV1(
        purchase_id=purchase_id,
        user_id=user_id,
        course_id=course_id,
        payment_id=777,
        amount=Money(amount=Decimal(250), currency="XTR"),
        purchased_at=PURCHASED_AT,
    )


async def _state(resources) -> tuple[list[UserCourse], list]:
    async with resources.sessionmaker() as session:
        enrolments = (await session.execute(select(UserCourse))).scalars().all()
        outbox = (await session.execute(select(messaging.outbox))).all()
    return list(enrolments), list(outbox)


async def test_a_purchase_enrols_the_buyer_and_announces_it(bus, resources, wait_for):
    event = await bus.publish(_purchase())
    await wait_for(lambda: bus.handled(event, CONSUMER))

    enrolments, outbox = await _state(resources)
    assert [(e.user_id, e.course_id, e.source, e.purchase_id) for e in enrolments] == [(42, 7, "purchase", 501)]
    assert enrolments[0].purchased_at == PURCHASED_AT
    assert [row.event_type for row in outbox] == ["progress.course_enrolled.v1"]
    data = outbox[0].payload["data"]
    assert data == {
        "user_id": 42,
        "course_id": 7,
        "enrollment_id": enrolments[0].id,
        "source": "purchase",
        "purchase_id": 501,
        "enrolled_at": "2026-03-03T11:00:00Z",
    }
    assert outbox[0].partition_key == "42"


async def test_a_duplicate_delivery_enrols_once(bus, resources, wait_for, consumed):
    before = consumed(CONSUMER, "billing.course_purchased.v1", "duplicate")

    first = await bus.publish(_purchase(user_id=43))
    await bus.publish(_purchase(user_id=43), event_id=first.id)
    await wait_for(lambda: bus.handled(first, CONSUMER))
    await wait_for(lambda: consumed(CONSUMER, "billing.course_purchased.v1", "duplicate") == before + 1)

    enrolments, outbox = await _state(resources)
    assert len(enrolments) == 1
    assert len(outbox) == 1


async def test_a_second_purchase_event_for_the_same_course_changes_nothing(bus, resources, wait_for):
    first = await bus.publish(_purchase(user_id=44, purchase_id=601))
    await wait_for(lambda: bus.handled(first, CONSUMER))
    second = await bus.publish(_purchase(user_id=44, purchase_id=602))  # another id: the inbox cannot help
    await wait_for(lambda: bus.handled(second, CONSUMER))

    enrolments, outbox = await _state(resources)
    assert [(e.user_id, e.purchase_id) for e in enrolments] == [(44, 601)]
    assert len(outbox) == 1


async def test_a_purchase_before_the_course_is_projected_still_enrols(bus, resources, wait_for, api):
    event = await bus.publish(_purchase(user_id=45, course_id=999))
    await wait_for(lambda: bus.handled(event, CONSUMER))

    response = await api.get("/internal/learners/45/courses")

    assert response.status_code == 200
    [course] = response.json()
    assert course["course_id"] == 999
    assert course["title"] is None
    assert (course["total_lessons"], course["completed_lessons"], course["progress_percent"]) == (0, 0, 0)


async def test_a_purchase_opens_the_paid_lessons(*, bus, resources, wait_for, api, project_course, make_course_event):
    await project_course(make_course_event(7, lesson_ids=(71, 72), price="4900.00"))
    before = await api.post("/internal/learners/46/lessons/72/complete")

    event = await bus.publish(_purchase(user_id=46, course_id=7))
    await wait_for(lambda: bus.handled(event, CONSUMER))
    after = await api.post("/internal/learners/46/lessons/72/complete")

    assert before.status_code == 403
    assert after.status_code == 200, after.text
    assert after.json()["newly_completed"] is True
    view = (await api.get("/internal/learners/46/courses/7")).json()
    assert view["enrolled"] is True
    assert [lesson["accessible"] for lesson in view["lessons"]] == [True, True]
