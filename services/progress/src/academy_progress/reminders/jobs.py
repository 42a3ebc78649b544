"""The worker's inactivity check, every `REMINDER_CHECK_INTERVAL_S` seconds."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from academy_runtime.resources import Resources

from academy_progress.reminders.service import remind_inactive_learners
from academy_progress.settings import ProgressSettings

log = logging.getLogger(__name__)


async def check_inactive_learners(resources: Resources) -> None:
    """Worker job: look for inactive learners now and then, for ever; an error waits for the next round."""
    settings = resources.settings_as(ProgressSettings)
    while True:
        try:
            await remind_inactive_learners(resources.sessionmaker, settings, now=datetime.now(UTC))
        except Exception:
            log.exception("inactivity check failed; retrying at the next interval")
        await asyncio.sleep(settings.reminder_check_interval_s)
