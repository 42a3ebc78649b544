"""The learners' time zones come from the users service's v3 events (v2 still queued from before its
issue-10 release too), through the real broker, and the reminders keep to each learner's local daytime;
a late event never brings back an older zone, and an erased learner's event writes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from academy_contracts.users import ProfileUpdatedV2, ProfileUpdatedV3, UserErasedV2, UserRegisteredV2, UserRegisteredV3
from academy_progress.models import LearnerPreferences
from academy_progress.reminders.service import remind_inactive_learners
from academy_progress.settings import ProgressSettings

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
async def _registered_learners(register_learners):
    """The learners these tests write for, registered (an unknown one gets 404 `learner_not_found`)."""
    await register_learners(44)


CONSUMER = "learner-time-zones"
# Wednesday 11 March 2026, 17:30 UTC: 20:30 in Moscow (daytime), 00:30 on the 12th in Novosibirsk (night).
EVENING = datetime(2026, 3, 11, 17, 30, tzinfo=UTC)
SETTINGS = ProgressSettings()


def registered(user_id: int, *, time_zone: str, revision: int = 1, locale: str = "ru") -> UserRegisteredV3:
    return UserRegisteredV3(
        user_id=user_id,
        telegram_id=70_000 + user_id,
        display_name="Анна С.",
        locale=locale,
        city=None,
        time_zone=time_zone,
        time_zone_source="city",
        consent_version="2026-11-01",
        revision=revision,
        registered_at=EVENING - timedelta(days=30),
    )


def updated(user_id: int, *, time_zone: str, revision: int, at: datetime, locale: str = "ru") -> ProfileUpdatedV3:
    return ProfileUpdatedV3(
        user_id=user_id,
        telegram_id=70_000 + user_id,
        changed_fields=("locale", "time_zone"),
        display_name="Анна С.",
        city=None,
        locale=locale,
        time_zone=time_zone,
        time_zone_source="learner",
        revision=revision,
        updated_at=at,
    )


def updated_v2(user_id: int, *, time_zone: str, revision: int, at: datetime) -> ProfileUpdatedV2:
    """A v2 update queued before the users service's release (it publishes v3 only now)."""
    return ProfileUpdatedV2(
        user_id=user_id,
        telegram_id=70_000 + user_id,
        changed_fields=("time_zone",),
        full_name="Анна Смирнова",
        city=None,
        locale="ru",
        time_zone=time_zone,
        time_zone_source="learner",
        phone_changed=False,
        revision=revision,
        updated_at=at,
    )


async def deliver_in_order(bus, wait_for, *events) -> None:
    """Publish each event and wait until the consumer has committed it before the next one."""
    for data in events:
        event = await bus.publish(data)
        await wait_for(lambda event=event: bus.handled(event, CONSUMER))


async def held(resources, user_id: int) -> tuple[str, int | None] | None:
    async with resources.sessionmaker() as session:
        prefs = await session.get(LearnerPreferences, user_id)
    return None if prefs is None else (prefs.timezone, prefs.profile_revision)


async def test_a_registration_brings_the_learners_zone(bus, resources, wait_for):
    await deliver_in_order(bus, wait_for, registered(41, time_zone="Asia/Novosibirsk"))

    assert await held(resources, 41) == ("Asia/Novosibirsk", 1)


async def test_a_v2_event_still_queued_from_before_the_release_applies_in_revision_order(bus, resources, wait_for):
    registration_v2 = UserRegisteredV2(
        user_id=48,
        telegram_id=70_048,
        full_name="Анна Смирнова",
        locale="ru",
        time_zone="Europe/Moscow",
        time_zone_source="city",
        consent_personal_data=True,
        consent_version="2026-11-01",
        revision=1,
        registered_at=EVENING - timedelta(days=30),
    )
    v2 = updated_v2(48, time_zone="Asia/Omsk", revision=2, at=EVENING - timedelta(days=2))
    v3 = updated(48, time_zone="Asia/Tomsk", revision=3, at=EVENING - timedelta(days=1))

    await deliver_in_order(bus, wait_for, registration_v2, v3, v2)

    assert await held(resources, 48) == ("Asia/Tomsk", 3)


async def test_an_erased_learners_zone_is_not_written(bus, resources, wait_for):
    await deliver_in_order(bus, wait_for, registered(49, time_zone="Asia/Omsk"))
    erasure = await bus.publish(UserErasedV2(user_id=49, erased_at=EVENING))
    await wait_for(lambda: bus.handled(erasure, "learner-registry"))
    assert await held(resources, 49) is None  # the erasure deleted it

    await deliver_in_order(bus, wait_for, updated(49, time_zone="Asia/Tomsk", revision=2, at=EVENING))

    assert await held(resources, 49) is None


async def test_a_late_registration_does_not_bring_back_the_zone_of_before_a_change(bus, resources, wait_for):
    # The learner moved and switched to English (revision 2); the registration (revision 1, in Russian,
    # in Moscow) arrives after it, as after a broker outage.
    change = updated(42, time_zone="Asia/Vladivostok", revision=2, locale="en", at=EVENING - timedelta(days=1))
    await deliver_in_order(bus, wait_for, change, registered(42, time_zone="Europe/Moscow"))

    assert await held(resources, 42) == ("Asia/Vladivostok", 2)


async def test_the_highest_revision_wins_even_with_an_older_timestamp(bus, resources, wait_for):
    # Timestamps come from different clocks; the revision does not lie.
    newer = updated(43, time_zone="Asia/Omsk", revision=3, at=EVENING - timedelta(hours=2))
    older = updated(43, time_zone="Asia/Tomsk", revision=2, at=EVENING - timedelta(hours=1))
    await deliver_in_order(bus, wait_for, registered(43, time_zone="Europe/Moscow"), newer, older)

    assert await held(resources, 43) == ("Asia/Omsk", 3)


async def test_the_zone_does_not_touch_the_learners_opt_out(api, bus, resources, wait_for):
    await api.put("/internal/learners/44/preferences", json={"reminders_opt_out": True})

    await deliver_in_order(bus, wait_for, registered(44, time_zone="Asia/Yekaterinburg"))

    preferences = (await api.get("/internal/learners/44/preferences")).json()
    assert preferences == {"user_id": 44, "timezone": "Asia/Yekaterinburg", "reminders_opt_out": True}


async def test_at_17_30_utc_a_moscow_learner_is_reminded_and_a_novosibirsk_one_is_not(
    bus, resources, wait_for, project_course, make_course_event, enrol, record_progress
):
    await project_course(make_course_event(1, lesson_ids=(11, 12)))
    for user_id in (45, 46):
        await enrol(user_id, 1, at=EVENING - timedelta(days=20))
        await record_progress(user_id, 1, 11, completed_at=EVENING - timedelta(days=10))
    await deliver_in_order(
        bus,
        wait_for,
        registered(45, time_zone="Europe/Moscow"),  # 20:30 there
        registered(46, time_zone="Asia/Novosibirsk"),  # 00:30 there
    )

    assert await remind_inactive_learners(resources.sessionmaker, SETTINGS, now=EVENING) == [45]
    # Novosibirsk's morning: 03:00 UTC is 10:00 there (and 06:00 in Moscow, who was reminded already).
    next_morning = EVENING.replace(hour=3, minute=0) + timedelta(days=1)
    assert await remind_inactive_learners(resources.sessionmaker, SETTINGS, now=next_morning) == [46]


async def test_a_zone_this_host_does_not_know_reminds_on_the_default_zone(
    bus, resources, wait_for, project_course, make_course_event, enrol, record_progress
):
    await project_course(make_course_event(1, lesson_ids=(11, 12)))
    await enrol(47, 1, at=EVENING - timedelta(days=20))
    await record_progress(47, 1, 11, completed_at=EVENING - timedelta(days=10))
    await deliver_in_order(bus, wait_for, registered(47, time_zone="Mars/Olympus_Mons"))

    assert await held(resources, 47) == ("Mars/Olympus_Mons", 1)  # kept: a newer tz database may know it
    assert await remind_inactive_learners(resources.sessionmaker, SETTINGS, now=EVENING) == [47]  # Moscow time
