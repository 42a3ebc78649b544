"""Inactivity reminders: seed query 3 turned into `progress.learner_inactive.v1`, politely.

A learner is reminded when they have an unfinished course and neither completed a lesson nor enrolled
in the last `REMINDER_INACTIVE_DAYS` days, have not opted out, and it is daytime where they live
(`REMINDER_WINDOW_START` ≤ local time < `REMINDER_WINDOW_END`, in their time zone: the one the users
service announces in `user_registered.v3` / `profile_updated.v3`, Europe/Moscow until it has), and was
not erased. At most
one reminder per learner per period: periods are fixed windows of `REMINDER_PERIOD_DAYS` UTC days
counted from Monday 1970-01-05 (with 7, calendar weeks from Monday).
The reminder row (primary key learner + period) and the event are written in one transaction, so a
second worker, a retried check or a restart can never remind twice in a period, and a learner who is
asleep now is reminded at the first check after their morning starts.
"""

from __future__ import annotations

import logging
import uuid
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from typing import Any

from academy_contracts.progress import LearnerInactiveV1
from academy_contracts.users import ProfileUpdatedV2, ProfileUpdatedV3, UserRegisteredV2, UserRegisteredV3
from academy_runtime.db import transaction
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from academy_progress import metrics
from academy_progress.learners.service import hold_learner, is_erased
from academy_progress.models import DEFAULT_TIMEZONE, messaging
from academy_progress.reminders.repository import ReminderRepository
from academy_progress.reminders.schemas import LearnerPreferencesOut, UpdateLearnerPreferences
from academy_progress.settings import ProgressSettings

log = logging.getLogger(__name__)

PERIOD_EPOCH = date(1970, 1, 5)  # a Monday: 7-day periods are calendar weeks
_EVENT_NAMESPACE = uuid.UUID("a0c5f1e2-5b7d-4e3a-9c61-2f8e7d4b3a90")


def reminder_period_start(day: date, period_days: int) -> date:
    """First day of the fixed `period_days`-day window that contains `day`."""
    return PERIOD_EPOCH + timedelta(days=(day - PERIOD_EPOCH).days // period_days * period_days)


def _local_time_zone(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or DEFAULT_TIMEZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # validated on write; the tz database may change
        return zoneinfo.ZoneInfo(DEFAULT_TIMEZONE)


def is_daytime_for(now: datetime, time_zone: str | None, settings: ProgressSettings) -> bool:
    local = now.astimezone(_local_time_zone(time_zone)).time()
    return settings.reminder_window_start <= local < settings.reminder_window_end


async def _remind_batch(
    session: AsyncSession, settings: ProgressSettings, *, now: datetime, after_user_id: int
) -> tuple[list[int], int | None]:
    """One page of candidates: the learners reminded, and the last user id examined (None: no more)."""
    repo = ReminderRepository(session)
    since = now - timedelta(days=settings.reminder_inactive_days)
    period_start = reminder_period_start(now.astimezone(UTC).date(), settings.reminder_period_days)
    candidates = await repo.reminder_candidates(
        since=since, period_start=period_start, after_user_id=after_user_id, limit=settings.reminder_batch_size
    )
    reminded: list[int] = []
    for candidate in candidates:
        if not is_daytime_for(now, candidate["timezone"], settings):
            continue
        # An erasure committing meanwhile deletes the learner's rows: take turns with it (the reminder
        # row and event would otherwise outlive the erasure), then skip the learner if it came first.
        await hold_learner(session, candidate["user_id"])
        if await is_erased(session, candidate["user_id"]):
            metrics.ERASED_LEARNER_EVENTS.labels(LearnerInactiveV1.event_type).inc()
            continue
        if await repo.record_reminder(user_id=candidate["user_id"], period_start=period_start, sent_at=now):
            await messaging.publish(session, _inactive_event(candidate, now=now, period_start=period_start))
            reminded.append(candidate["user_id"])
    last_seen = candidates[-1]["user_id"] if len(candidates) == settings.reminder_batch_size else None
    return reminded, last_seen


def _inactive_event(candidate: Any, *, now: datetime, period_start: date) -> LearnerInactiveV1:
    last_activity: datetime | None = candidate["last_activity_at"]
    quiet_since = max(t for t in (last_activity, candidate["last_enrolled_at"]) if t is not None)
    return LearnerInactiveV1(
        user_id=candidate["user_id"],
        last_activity_at=last_activity,
        inactive_days=max(1, (now - quiet_since).days),
        period_start=period_start,
        detected_at=now,
    )


async def remind_inactive_learners(
    sessionmaker: async_sessionmaker[AsyncSession], settings: ProgressSettings, *, now: datetime
) -> list[int]:
    """Run one inactivity check as of `now`; returns the learners reminded. One transaction per page."""
    reminded: list[int] = []
    after_user_id: int | None = 0
    while after_user_id is not None:
        async with transaction(sessionmaker) as session:
            page, after_user_id = await _remind_batch(session, settings, now=now, after_user_id=after_user_id)
        reminded.extend(page)
    metrics.INACTIVITY_REMINDERS.inc(len(reminded))
    if reminded:
        log.info("inactivity reminders written", extra={"count": len(reminded)})
    return reminded


TimeZoneEvent = UserRegisteredV3 | ProfileUpdatedV3 | UserRegisteredV2 | ProfileUpdatedV2


async def record_learner_time_zone(session: AsyncSession, event: TimeZoneEvent) -> bool:
    """The learner's zone as the users service announced it, unless a newer revision is already held (a
    late `user_registered` never brings back the zone of before a change). True when applied; False too
    for an erased learner, for whom nothing is written (an event that reached progress after the erasure)."""
    await hold_learner(session, event.user_id)
    if await is_erased(session, event.user_id):
        metrics.ERASED_LEARNER_EVENTS.labels(event.event_type).inc()
        return False
    applied = await ReminderRepository(session).apply_time_zone(
        event.user_id, time_zone=event.time_zone, revision=event.revision
    )
    metrics.LEARNER_TIME_ZONE_UPDATES.labels(event.event_type, "applied" if applied else "stale").inc()
    return applied


async def learner_preferences(session: AsyncSession, user_id: int) -> LearnerPreferencesOut:
    prefs = await ReminderRepository(session).get_preferences(user_id)
    if prefs is None:  # nobody asked for anything: the defaults
        return LearnerPreferencesOut(user_id=user_id, timezone=DEFAULT_TIMEZONE, reminders_opt_out=False)
    return LearnerPreferencesOut(user_id=user_id, timezone=prefs.timezone, reminders_opt_out=prefs.reminders_opt_out)


async def update_learner_preferences(
    session: AsyncSession, user_id: int, command: UpdateLearnerPreferences
) -> LearnerPreferencesOut:
    changes = command.model_dump(exclude_none=True)
    prefs = await ReminderRepository(session).save_preferences(user_id, changes)
    return LearnerPreferencesOut(user_id=user_id, timezone=prefs.timezone, reminders_opt_out=prefs.reminders_opt_out)
