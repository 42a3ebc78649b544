"""The enrolments consumer on billing.purchase_refunded: a refunded purchase takes back the access it
opened (that enrolment only), whatever order the purchase and its refund arrive in."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from academy_contracts import CoursePurchasedV1, Money, PurchaseRefundedV1
from academy_progress.enrolments.service import enrol_after_purchase, revoke_after_refund
from academy_progress.models import CoursePurchase, UserCourse, UserProgress
from sqlalchemy import select

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
async def _registered_learners(register_learners):
    """The learners these tests write for, registered (an unknown one gets 404 `learner_not_found`)."""
    await register_learners(42, 43)


CONSUMER = "enrolments"
PURCHASED_AT = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
REFUNDED_AT = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
ENROLLED = "progress.course_enrolled.v1"


def _purchase(purchase_id: int, *, user_id: int = 42, course_id: int = 7, days: int = 0) -> CoursePurchasedV1:
    return CoursePurchasedV1(
        purchase_id=purchase_id,
        user_id=user_id,
        course_id=course_id,
        payment_id=700 + purchase_id,
        amount=Money(amount=Decimal(250), currency="XTR"),
        purchased_at=PURCHASED_AT + timedelta(days=days),
    )


def _refund(purchase_id: int, *, user_id: int = 42, course_id: int = 7, days: int = 0) -> PurchaseRefundedV1:
    return PurchaseRefundedV1(
        purchase_id=purchase_id,
        user_id=user_id,
        course_id=course_id,
        payment_id=700 + purchase_id,
        amount=Money(amount=Decimal(250), currency="XTR"),
        reason="operator_refund",
        refunded_at=REFUNDED_AT + timedelta(days=days),
    )


async def _enrolments(resources, user_id: int = 42) -> list[tuple[int, str, int | None]]:
    async with resources.sessionmaker() as session:
        rows = (await session.execute(select(UserCourse).where(UserCourse.user_id == user_id))).scalars().all()
    return sorted((row.course_id, row.source, row.purchase_id) for row in rows)


async def _purchases(resources) -> dict[int, CoursePurchase]:
    async with resources.sessionmaker() as session:
        rows = (await session.execute(select(CoursePurchase))).scalars().all()
    return {row.purchase_id: row for row in rows}


async def _announced(outbox, resources) -> list[tuple[int, int, int | None]]:
    return [
        (e["data"]["user_id"], e["data"]["course_id"], e["data"]["purchase_id"])
        for e in await outbox(resources, ENROLLED)
    ]


async def _deliver(bus, wait_for, *events):
    """Publish the events in this order and wait until the consumer has committed each of them."""
    for data in events:
        event = await bus.publish(data)
        await wait_for(lambda event=event: bus.handled(event, CONSUMER))


async def test_a_refund_after_the_purchase_revokes_the_enrolment(bus, resources, wait_for, outbox, api):
    await _deliver(bus, wait_for, _purchase(501))
    assert await _enrolments(resources) == [(7, "purchase", 501)]

    await _deliver(bus, wait_for, _refund(501))

    assert await _enrolments(resources) == []
    revoked = (await _purchases(resources))[501]
    assert (revoked.user_id, revoked.course_id) == (42, 7)
    assert (revoked.purchased_at, revoked.revoked_at) == (PURCHASED_AT, REFUNDED_AT)
    assert await _announced(outbox, resources) == [(42, 7, 501)]  # the enrolment, nothing for the refund
    assert (await api.get("/internal/learners/42/courses")).json() == []


async def test_a_refund_before_its_purchase_means_never_enrolled(bus, resources, wait_for, outbox, consumed):
    await _deliver(bus, wait_for, _refund(502), _purchase(502))

    assert await _enrolments(resources) == []
    assert await _announced(outbox, resources) == []
    assert (await _purchases(resources))[502].revoked_at == REFUNDED_AT
    assert consumed(CONSUMER, "billing.course_purchased.v1", "handled") >= 1  # handled, not failed


async def test_the_same_refund_twice_has_one_effect(bus, resources, wait_for, consumed):
    before = consumed(CONSUMER, "billing.purchase_refunded.v1", "duplicate")
    await _deliver(bus, wait_for, _purchase(503))

    first = await bus.publish(_refund(503))
    await bus.publish(_refund(503), event_id=first.id)  # a redelivery: the inbox stops it
    await wait_for(lambda: bus.handled(first, CONSUMER))
    await wait_for(lambda: consumed(CONSUMER, "billing.purchase_refunded.v1", "duplicate") == before + 1)
    # The same refund told again under another event id, later: nothing left to take back.
    await _deliver(bus, wait_for, _refund(503, days=2))

    assert await _enrolments(resources) == []
    purchases = await _purchases(resources)
    assert list(purchases) == [503]
    assert purchases[503].revoked_at == REFUNDED_AT  # the first refund's time is kept


async def test_a_late_refund_of_an_old_purchase_leaves_the_new_purchase_enrolled(bus, resources, wait_for, outbox):
    await _deliver(bus, wait_for, _purchase(504), _refund(504), _purchase(505, days=2))
    assert await _enrolments(resources) == [(7, "purchase", 505)]

    await _deliver(bus, wait_for, _refund(504, days=3))  # the old refund again, under another event id

    assert await _enrolments(resources) == [(7, "purchase", 505)]
    assert await _announced(outbox, resources) == [(42, 7, 504), (42, 7, 505)]


async def test_a_re_purchase_delivered_before_the_old_refund_keeps_the_access(bus, resources, wait_for, outbox):
    # billing sold the course again after refunding the first purchase; the refund arrives last.
    await _deliver(bus, wait_for, _purchase(506), _purchase(507, days=2))
    assert await _enrolments(resources) == [(7, "purchase", 506)]  # already enrolled: 507 opened nothing new

    await _deliver(bus, wait_for, _refund(506))

    assert await _enrolments(resources) == [(7, "purchase", 507)]  # 507 carries the enrolment on
    assert await _announced(outbox, resources) == [(42, 7, 506)]  # access was never lost: nothing to announce

    await _deliver(bus, wait_for, _refund(507, days=3))
    assert await _enrolments(resources) == []


async def test_a_refund_leaves_free_and_operator_enrolments_alone(
    *, bus, resources, wait_for, api, enrol, project_course, make_course_event
):
    await project_course(make_course_event(5, lesson_ids=(51,)))
    assert (await api.post("/internal/learners/42/enrolments", json={"course_id": 5})).status_code == 200
    await enrol(42, 8, source="operator")
    # A purchase of a course the learner already held (billing refunds such a purchase itself).
    await _deliver(bus, wait_for, _purchase(508, course_id=5), _purchase(509, course_id=8))

    await _deliver(bus, wait_for, _refund(508, course_id=5), _refund(509, course_id=8))

    assert await _enrolments(resources) == [(5, "free", None), (8, "operator", None)]


async def test_a_refund_touches_no_other_learner_or_course(bus, resources, wait_for):
    await _deliver(bus, wait_for, _purchase(510), _purchase(511, course_id=9), _purchase(512, user_id=43))

    await _deliver(bus, wait_for, _refund(510))

    assert await _enrolments(resources) == [(9, "purchase", 511)]
    assert await _enrolments(resources, user_id=43) == [(7, "purchase", 512)]


async def test_progress_survives_a_refund_and_comes_back_with_a_re_purchase(
    *, bus, resources, wait_for, api, project_course, make_course_event
):
    await project_course(make_course_event(7, lesson_ids=(71, 72, 73), price="4900.00"))
    await _deliver(bus, wait_for, _purchase(513))
    for lesson_id in (71, 72):
        assert (await api.post(f"/internal/learners/42/lessons/{lesson_id}/complete")).status_code == 200

    await _deliver(bus, wait_for, _refund(513))

    assert (await api.get("/internal/learners/42/courses")).json() == []
    view = (await api.get("/internal/learners/42/courses/7")).json()
    assert view["enrolled"] is False
    assert [lesson["accessible"] for lesson in view["lessons"]] == [True, False, False]  # the free preview only
    async with resources.sessionmaker() as session:
        kept = (await session.execute(select(UserProgress.lesson_id).where(UserProgress.user_id == 42))).scalars()
        assert sorted(kept) == [71, 72]

    await _deliver(bus, wait_for, _purchase(514, days=5))

    [course] = (await api.get("/internal/learners/42/courses")).json()
    assert (course["course_id"], course["source"], course["completed_lessons"], course["total_lessons"]) == (
        7,
        "purchase",
        2,
        3,
    )
    view = (await api.get("/internal/learners/42/courses/7")).json()
    assert view["enrolled"] is True
    assert view["next_lesson_id"] == 73


async def test_a_revoked_learner_cannot_complete_or_watch_a_paid_lesson(
    *, bus, resources, wait_for, api, project_course, make_course_event
):
    await project_course(make_course_event(7, lesson_ids=(71, 72), price="4900.00"))
    await _deliver(bus, wait_for, _purchase(515), _refund(515))

    complete = await api.post("/internal/learners/42/lessons/72/complete")
    watch = await api.post("/internal/learners/42/lessons/72/watch-time", json={"seconds": 30})
    preview = await api.post("/internal/learners/42/lessons/71/complete")

    assert complete.status_code == 403, complete.text
    assert complete.json()["error"]["details"] == {"course_id": 7}
    assert watch.status_code == 403
    assert preview.status_code == 200  # the free preview stays open to anybody
    assert preview.json()["course_completed"] is False


async def test_purchases_and_refunds_in_a_burst_leave_nobody_enrolled(bus, resources, wait_for):
    """Both events of many purchases at once, refunds first for half of them: the consumer's prefetch
    and retries handle them side by side, and none of the refunded purchases ends up enrolled."""
    learners = range(100, 140)
    events = []
    for user_id in learners:
        pair = [_purchase(user_id, user_id=user_id), _refund(user_id, user_id=user_id)]
        events.extend(reversed(pair) if user_id % 2 else pair)
    published = [await bus.publish(data) for data in events]
    for event in published:
        await wait_for(lambda event=event: bus.handled(event, CONSUMER), timeout=30)

    async with resources.sessionmaker() as session:
        assert (await session.execute(select(UserCourse))).all() == []
    purchases = await _purchases(resources)
    assert all(p.revoked_at is not None and p.purchased_at is not None for p in purchases.values())
    assert len(purchases) == len(learners)


@pytest.mark.parametrize("first", ["purchase", "refund"])
async def test_a_purchase_and_its_refund_handled_at_once_take_turns(resources, first):
    """Two transactions at the same moment: the second waits for the first's commit, then sees its rows."""
    purchase, refund = _purchase(516), _refund(516)

    async def handle(kind: str, session) -> object:
        if kind == "purchase":
            return await enrol_after_purchase(session, purchase)
        return await revoke_after_refund(session, refund)

    second = "refund" if first == "purchase" else "purchase"
    async with resources.sessionmaker() as one, resources.sessionmaker() as two:
        async with one.begin():
            await handle(first, one)
            waiting = asyncio.create_task(_in_transaction(two, lambda: handle(second, two)))
            await asyncio.sleep(0.3)
            assert not waiting.done()  # blocked on the learner's lock until the first commits
        await asyncio.wait_for(waiting, timeout=5)

    assert await _enrolments(resources) == []


async def _in_transaction(session, work):
    async with session.begin():
        return await work()


@pytest.mark.parametrize("first", ["re_purchase", "old_refund"])
async def test_a_re_purchase_and_the_old_refund_handled_at_once_keep_the_access(bus, resources, wait_for, first):
    """The old purchase's refund must see the new purchase, even one committing at that very moment."""
    await _deliver(bus, wait_for, _purchase(517))

    async def handle(kind: str, session) -> object:
        if kind == "re_purchase":
            return await enrol_after_purchase(session, _purchase(518, days=2))
        return await revoke_after_refund(session, _refund(517))

    second = "old_refund" if first == "re_purchase" else "re_purchase"
    async with resources.sessionmaker() as one, resources.sessionmaker() as two:
        async with one.begin():
            await handle(first, one)
            waiting = asyncio.create_task(_in_transaction(two, lambda: handle(second, two)))
            await asyncio.sleep(0.3)
            assert not waiting.done()
        await asyncio.wait_for(waiting, timeout=5)

    assert await _enrolments(resources) == [(7, "purchase", 518)]
