"""The inactivity check of the worker, driven with a chosen `now` (no sleeping, no clock)."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from academy_progress.app import service as progress_service
from academy_progress.models import InactivityReminder
from academy_progress.reminders.jobs import check_inactive_learners
from academy_progress.reminders.service import is_daytime_for, remind_inactive_learners, reminder_period_start
from academy_progress.settings import ProgressSettings
from sqlalchemy import select

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
async def _registered_learners(register_learners):
    """The learners these tests write for, registered (an unknown one gets 404 `learner_not_found`)."""
    await register_learners(2, 3, 4)


INACTIVE = "progress.learner_inactive.v1"
# Wednesday 11 March 2026, 08:00 UTC: 11:00 in Moscow, 18:00 in Vladivostok, 04:00 in New York (EDT).
MORNING = datetime(2026, 3, 11, 8, 0, tzinfo=UTC)
SETTINGS = ProgressSettings()


def test_periods_are_fixed_windows_from_a_monday():
    assert reminder_period_start(date(2026, 3, 11), 7) == date(2026, 3, 9)  # the week's Monday
    assert reminder_period_start(date(2026, 3, 9), 7) == date(2026, 3, 9)
    assert reminder_period_start(date(2026, 3, 8), 7) == date(2026, 3, 2)
    assert reminder_period_start(date(2026, 3, 11), 1) == date(2026, 3, 11)
    assert (date(2026, 3, 11) - reminder_period_start(date(2026, 3, 11), 3)).days in {0, 1, 2}


def test_the_daytime_window_is_local_and_half_open():
    moscow_10 = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
    assert is_daytime_for(moscow_10, "Europe/Moscow", SETTINGS)
    assert not is_daytime_for(moscow_10 - timedelta(minutes=1), "Europe/Moscow", SETTINGS)
    assert is_daytime_for(datetime(2026, 3, 11, 17, 59, tzinfo=UTC), None, SETTINGS)  # 20:59 in Moscow (default)
    assert not is_daytime_for(datetime(2026, 3, 11, 18, 0, tzinfo=UTC), None, SETTINGS)  # 21:00
    assert not is_daytime_for(MORNING, "America/New_York", SETTINGS)


def test_the_check_is_a_worker_job():
    assert check_inactive_learners in progress_service.worker_jobs


@pytest.fixture
async def inactive_learners(api, project_course, make_course_event, enrol, record_progress):
    """Learners 1..5 quiet for 10+ days on an unfinished course, in different time zones and moods."""
    await project_course(make_course_event(1, lesson_ids=(11, 12)))
    long_ago = MORNING - timedelta(days=20)
    for user_id in (1, 2, 3, 4, 5):
        await enrol(user_id, 1, at=long_ago)
        await record_progress(user_id, 1, 11, completed_at=MORNING - timedelta(days=10))
    await api.put("/internal/learners/2/preferences", json={"timezone": "Asia/Vladivostok"})
    await api.put("/internal/learners/3/preferences", json={"timezone": "America/New_York"})
    await api.put("/internal/learners/4/preferences", json={"reminders_opt_out": True})
    # 6: active yesterday; 7: enrolled three days ago, nothing completed yet (not inactive for 7 days).
    await enrol(6, 1, at=long_ago)
    await record_progress(6, 1, 11, completed_at=MORNING - timedelta(days=1))
    await enrol(7, 1, at=MORNING - timedelta(days=3))


async def _reminder_rows(resources) -> list[tuple[int, date]]:
    async with resources.sessionmaker() as session:
        rows = await session.execute(
            select(InactivityReminder.user_id, InactivityReminder.period_start).order_by(InactivityReminder.user_id)
        )
    return [tuple(row) for row in rows]


async def test_daytime_learners_who_did_not_opt_out_are_reminded_with_an_event(inactive_learners, resources, outbox):
    reminded = await remind_inactive_learners(resources.sessionmaker, SETTINGS, now=MORNING)

    # 3 is asleep in New York, 4 opted out, 6 is active, 7 just enrolled.
    assert sorted(reminded) == [1, 2, 5]
    assert await _reminder_rows(resources) == [(1, date(2026, 3, 9)), (2, date(2026, 3, 9)), (5, date(2026, 3, 9))]
    events = await outbox(resources, INACTIVE)
    assert sorted(e["data"]["user_id"] for e in events) == [1, 2, 5]
    data = next(e["data"] for e in events if e["data"]["user_id"] == 1)
    assert data == {
        "user_id": 1,
        "last_activity_at": "2026-03-01T08:00:00Z",
        "inactive_days": 10,
        "period_start": "2026-03-09",
        "detected_at": "2026-03-11T08:00:00Z",
    }


async def test_at_most_one_reminder_per_learner_and_period(inactive_learners, resources, outbox):
    await remind_inactive_learners(resources.sessionmaker, SETTINGS, now=MORNING)
    again = await remind_inactive_learners(resources.sessionmaker, SETTINGS, now=MORNING + timedelta(hours=2))
    # New York's morning, same week: only learner 3, whose turn it now is.
    evening_utc = await remind_inactive_learners(resources.sessionmaker, SETTINGS, now=MORNING + timedelta(hours=7))
    next_week = await remind_inactive_learners(resources.sessionmaker, SETTINGS, now=MORNING + timedelta(days=7))

    assert again == []
    assert evening_utc == [3]
    # A new period: still inactive, reminded again; 6 and 7 are quiet for 7 days by now; 3 is asleep.
    assert sorted(next_week) == [1, 2, 5, 6, 7]
    assert len(await outbox(resources, INACTIVE)) == 9
    assert {p for _, p in await _reminder_rows(resources)} == {date(2026, 3, 9), date(2026, 3, 16)}


async def test_nobody_is_reminded_at_night(inactive_learners, resources, outbox):
    night = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)  # 23:00 Moscow, 06:00 Vladivostok, 16:00 New York

    reminded = await remind_inactive_learners(resources.sessionmaker, SETTINGS, now=night)

    assert reminded == [3]
    assert [e["data"]["user_id"] for e in await outbox(resources, INACTIVE)] == [3]


async def test_pages_of_candidates_cover_everyone(inactive_learners, resources):
    reminded = await remind_inactive_learners(
        resources.sessionmaker, SETTINGS.model_copy(update={"reminder_batch_size": 1}), now=MORNING
    )

    assert sorted(reminded) == [1, 2, 5]


async def test_a_custom_window_and_inactivity_length_apply(inactive_learners, resources):
    settings = SETTINGS.model_copy(
        update={"reminder_window_start": time(4, 0), "reminder_window_end": time(5, 0), "reminder_inactive_days": 12}
    )

    reminded = await remind_inactive_learners(resources.sessionmaker, settings, now=MORNING)

    assert reminded == []  # ten days quiet is not twelve
    settings = settings.model_copy(update={"reminder_inactive_days": 7})
    assert await remind_inactive_learners(resources.sessionmaker, settings, now=MORNING) == [3]  # 04:00 in New York
