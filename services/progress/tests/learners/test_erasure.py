"""An erased learner is forgotten (issue 10): `users.user_erased.v2`, through the real `learner-registry`
consumer, deletes everything progress holds of them — enrolments, purchases heard of, lesson progress,
reminders, preferences, transcripts and their PDFs in S3, their events in the outbox, the stored answers
to their commands — and keeps only the registry row (`erased_at`: no write lands on the id again) and
per-course numbers without the person. The test then looks in every table of the schema (each row cast
to text), the bucket and Redis for the learner's values and id."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from academy_contracts import Money
from academy_contracts.billing import CoursePurchasedV1
from academy_contracts.users import ProfileUpdatedV3, UserErasedV2, UserRegisteredV3
from academy_progress.learners.erasure import sweep_erased_learners_once
from academy_progress.models import ErasedEnrolments, KnownLearner, LearnerPreferences, UserCourse, UserProgress
from academy_progress.reminders.service import remind_inactive_learners
from academy_runtime.after_commit import wait_for_after_commit_jobs
from academy_runtime.db import transaction
from academy_runtime.storage import STORAGE_EXTRA, ObjectStorage, object_storage
from academy_runtime.testing import redis_entries_mentioning, rows_mentioning
from sqlalchemy import func, select, update

pytestmark = pytest.mark.integration

REGISTRY, TIME_ZONES, ENROLMENTS = "learner-registry", "learner-time-zones", "enrolments"

# The learner, with values nobody else has: any of them found after the erasure is a leak.
LEARNER = 1_987_654_321
TELEGRAM_ID = 5_550_123_987
DISPLAY_NAME = "Евпраксия Ж."
FULL_NAME = "Евпраксия Жмуркина"
CITY = "Усть-Илимск"
TIME_ZONE = "Asia/Srednekolymsk"
DISTINCTIVE = (str(TELEGRAM_ID), DISPLAY_NAME, FULL_NAME, CITY, TIME_ZONE)
OTHER = 77  # another learner: nothing of theirs goes
FREE, PAID, LATER = 5, 6, 8
LEARNER_ID = re.compile(rf"(?<!\d){LEARNER}(?!\d)")


def _registered(user_id: int, telegram_id: int, time_zone: str) -> UserRegisteredV3:
    return UserRegisteredV3(
        user_id=user_id,
        telegram_id=telegram_id,
        display_name=DISPLAY_NAME if user_id == LEARNER else "Ольга К.",
        locale="ru",
        city=CITY if user_id == LEARNER else "Казань",
        time_zone=time_zone,
        time_zone_source="city",
        consent_version="2025-01",
        revision=1,
        registered_at=datetime(2026, 3, 1, tzinfo=UTC),
    )


def _purchased(purchase_id: int, course_id: int) -> CoursePurchasedV1:
    return CoursePurchasedV1(
        purchase_id=purchase_id,
        user_id=LEARNER,
        course_id=course_id,
        payment_id=None,
        amount=Money(amount=Decimal("990.00"), currency="RUB"),
        purchased_at=datetime(2026, 3, 2, tzinfo=UTC),
    )


async def _learn_and_leave_traces(api, bus, resources, wait_for, users_avatars, make_avatar) -> None:
    """Everything the learner can leave in progress: enrolments (free and bought), lessons, watch time, a
    course completed, a reminder, a time zone, a transcript (with their name and avatar), stored answers."""
    for event in (
        await bus.publish(_registered(LEARNER, TELEGRAM_ID, TIME_ZONE)),
        await bus.publish(_registered(OTHER, 700_077, "Europe/Kazan")),
    ):
        await wait_for(lambda event=event: bus.handled(event, REGISTRY))
        await wait_for(lambda event=event: bus.handled(event, TIME_ZONES))
    # Idempotency keys as the gateway makes them: a message's key names the chat, i.e. the Telegram id.
    key = f"tg:1:message:{TELEGRAM_ID}:{{}}:1767225600"
    enrolled = await api.post(
        f"/internal/learners/{LEARNER}/enrolments", json={"course_id": FREE}, headers={"idempotency-key": key.format(1)}
    )
    assert enrolled.status_code == 200, enrolled.text
    for n, lesson_id in enumerate((51, 52), start=2):
        done = await api.post(
            f"/internal/learners/{LEARNER}/lessons/{lesson_id}/complete", headers={"idempotency-key": key.format(n)}
        )
        assert done.status_code == 200, done.text
    assert (
        await api.post(f"/internal/learners/{LEARNER}/lessons/61/watch-time", json={"seconds": 40})
    ).status_code in (
        200,
        403,
    )
    bought = await bus.publish(_purchased(9_001, PAID))
    await wait_for(lambda: bus.handled(bought, ENROLMENTS))
    watched = await api.post(f"/internal/learners/{LEARNER}/lessons/61/watch-time", json={"seconds": 40})
    assert watched.status_code == 200, watched.text
    assert (await api.post(f"/internal/learners/{OTHER}/enrolments", json={"course_id": FREE})).status_code == 200

    # A reminder: the paid course is unfinished and nothing happened for weeks (13:00 in Srednekolymsk).
    month_later = (datetime.now(UTC) + timedelta(days=30)).replace(hour=2, minute=0, second=0, microsecond=0)
    reminded = await remind_inactive_learners(resources.sessionmaker, resources.settings, now=month_later)
    assert LEARNER in reminded

    users_avatars.avatars[LEARNER] = make_avatar((255, 128, 0))
    users_avatars.names[LEARNER] = FULL_NAME  # printed on the PDF (in S3), kept in no table of progress
    transcript = await api.post(f"/internal/learners/{LEARNER}/transcript")
    assert transcript.status_code == 200, transcript.text
    assert transcript.json()["object_key"].startswith(f"transcripts/{LEARNER}/")


async def test_an_erased_learner_leaves_nothing_in_progress_but_the_registry_row_and_course_numbers(
    api, operator_api, bus, resources, wait_for, users_avatars, make_avatar, project_course, make_course_event
):
    await project_course(make_course_event(FREE, lesson_ids=(51, 52)))
    await project_course(make_course_event(PAID, lesson_ids=(61, 62), price="990.00"))
    await project_course(make_course_event(LATER, lesson_ids=(81,), price="990.00"))
    await _learn_and_leave_traces(api, bus, resources, wait_for, users_avatars, make_avatar)
    # The search below would find them: the values are there before the erasure (the full name only in
    # the PDF, which the bucket check below covers).
    async with resources.sessionmaker() as session:
        for value in (str(TELEGRAM_ID), TIME_ZONE):
            assert await rows_mentioning(session, "progress", [value]), value
    storage = object_storage(resources)
    prefix = f"transcripts/{LEARNER}/"
    assert [o async for o in storage.client.list_objects(storage.bucket, prefix=prefix, recursive=True)]

    erased = await bus.publish(UserErasedV2(user_id=LEARNER, erased_at=datetime(2026, 4, 1, tzinfo=UTC)))
    await wait_for(lambda: bus.handled(erased, REGISTRY))
    await wait_for_after_commit_jobs()
    # Events about the learner that reach progress after the erasure write nothing.
    late = [
        await bus.publish(_purchased(9_002, LATER)),
        await bus.publish(
            ProfileUpdatedV3(
                user_id=LEARNER,
                telegram_id=TELEGRAM_ID,
                changed_fields=("time_zone",),
                display_name=DISPLAY_NAME,
                city=CITY,
                locale="ru",
                time_zone=TIME_ZONE,
                time_zone_source="learner",
                revision=2,
                updated_at=datetime(2026, 4, 2, tzinfo=UTC),
            )
        ),
    ]
    await wait_for(lambda: bus.handled(late[0], ENROLMENTS))
    await wait_for(lambda: bus.handled(late[1], TIME_ZONES))

    async with resources.sessionmaker() as session:
        # The registry row (`learners`) keeps the id by design: no write lands on it again.
        assert await rows_mentioning(session, "progress", DISTINCTIVE) == []
        assert await rows_mentioning(session, "progress", [LEARNER_ID], except_tables=("learners",)) == []
    assert [o async for o in storage.client.list_objects(storage.bucket, prefix=prefix, recursive=True)] == []
    redis_prefix = resources.settings.redis_prefix
    assert await redis_entries_mentioning(resources.redis, redis_prefix, [*DISTINCTIVE, LEARNER_ID]) == []

    async with resources.sessionmaker() as session:
        learner = await session.get(KnownLearner, LEARNER)
        numbers = {
            row.course_id: (row.enrolled, row.completed) for row in await session.scalars(select(ErasedEnrolments))
        }
        others = await session.scalar(select(func.count()).select_from(UserCourse).where(UserCourse.user_id == OTHER))
        other_zone = await session.scalar(
            select(LearnerPreferences.timezone).where(LearnerPreferences.user_id == OTHER)
        )
    assert learner.erased_at == datetime(2026, 4, 1, tzinfo=UTC)
    assert (learner.forgotten_at is not None, learner.objects_removed_at is not None) == (True, True)
    assert numbers == {FREE: (1, 1), PAID: (1, 0)}  # the courses keep their numbers, without the person
    assert (others, other_zone) == (1, "Europe/Kazan")
    popular = {
        c["course_id"]: c["students_count"] for c in (await operator_api.get("/internal/courses/popular")).json()
    }
    assert (popular[FREE], popular[PAID]) == (2, 1)  # the erased learner still counts, as a number
    refused = await api.post(f"/internal/learners/{LEARNER}/enrolments", json={"course_id": FREE})
    assert refused.json()["error"]["code"] == "learner_not_found"


async def test_the_sweep_finishes_what_an_erasure_left(
    api, resources, register_learners, project_course, make_course_event, wait_for
):
    """Learners erased before progress deleted anything (v1 only marked them), and PDFs an S3 outage kept
    after the erasure's commit, are deleted by the worker's sweep."""
    await project_course(make_course_event(FREE, lesson_ids=(51,)))
    await register_learners(LEARNER, OTHER)
    for user_id in (LEARNER, OTHER):
        assert (await api.post(f"/internal/learners/{user_id}/enrolments", json={"course_id": FREE})).status_code == 200
        assert (await api.post(f"/internal/learners/{user_id}/lessons/51/complete")).status_code == 200
        assert (await api.post(f"/internal/learners/{user_id}/transcript", json={})).status_code == 200
    storage = object_storage(resources)
    # LEARNER was erased by an older release: marked, nothing deleted.
    async with transaction(resources.sessionmaker) as session:
        await session.execute(
            update(KnownLearner)
            .where(KnownLearner.user_id == LEARNER)
            .values(erased_at=datetime(2026, 4, 1, tzinfo=UTC))
        )
    # OTHER is erased now, while S3 is down: the rows go, the PDF stays behind.
    resources.extras[STORAGE_EXTRA] = ObjectStorage.from_settings(
        resources.settings.model_copy(update={"s3_endpoint": "127.0.0.1:9"})
    )
    try:
        from academy_progress.learners.erasure import forget_learner, remove_learner_objects

        async with transaction(resources.sessionmaker) as session:
            await session.execute(
                update(KnownLearner)
                .where(KnownLearner.user_id == OTHER)
                .values(erased_at=datetime(2026, 4, 1, tzinfo=UTC))
            )
            await forget_learner(session, OTHER)
        with pytest.raises(Exception):  # noqa: B017 - whatever the S3 client raises for a dead server
            await remove_learner_objects(resources, OTHER)
    finally:
        await resources.extras[STORAGE_EXTRA].aclose()
        resources.extras[STORAGE_EXTRA] = storage

    counts = await sweep_erased_learners_once(resources)

    assert counts == {"rows": 1, "objects": 2, "objects_failed": 0}
    async with resources.sessionmaker() as session:
        left = await session.scalar(
            select(func.count()).select_from(UserProgress).where(UserProgress.user_id.in_((LEARNER, OTHER)))
        )
        pending = await session.scalar(
            select(func.count()).select_from(KnownLearner).where(KnownLearner.objects_removed_at.is_(None))
        )
    assert (left, pending) == (0, 0)
    for user_id in (LEARNER, OTHER):
        objects = [o async for o in storage.client.list_objects(storage.bucket, prefix=f"transcripts/{user_id}/")]
        assert objects == []
    assert await sweep_erased_learners_once(resources) == {"rows": 0, "objects": 0, "objects_failed": 0}
