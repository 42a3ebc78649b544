"""The progress service: enrolments, lesson progress, transcripts and the catalog projection."""

from __future__ import annotations

from academy_runtime.cli import service_main
from academy_runtime.http import create_app as _create_app
from academy_runtime.service import ServiceDefinition
from academy_runtime.storage import open_object_storage
from fastapi import FastAPI

from academy_progress.clients import open_users_client
from academy_progress.enrolments.consumers import enrolments
from academy_progress.enrolments.endpoints import router as enrolments_router
from academy_progress.learners.consumers import learner_registry
from academy_progress.learners.erasure import sweep_erased_learners
from academy_progress.lessons.endpoints import router as lessons_router
from academy_progress.models import Base, messaging
from academy_progress.projections.consumers import catalog_projection
from academy_progress.reminders.consumers import learner_time_zones
from academy_progress.reminders.endpoints import router as preferences_router
from academy_progress.reminders.jobs import check_inactive_learners
from academy_progress.reports.endpoints import router as reports_router
from academy_progress.settings import ProgressSettings
from academy_progress.transcripts.endpoints import router as transcripts_router

service = ServiceDefinition(
    name="progress",
    description="Enrolments, lesson progress, learning transcripts and the catalog's course projection.",
    settings_factory=ProgressSettings,
    metadata=Base.metadata,
    messaging=messaging,
    migrations="academy_progress:migrations",
    # The reports router first: its /internal/learners/inactive must not be read as a learner id.
    routers=[reports_router, enrolments_router, lessons_router, preferences_router, transcripts_router],
    consumers=[catalog_projection, enrolments, learner_time_zones, learner_registry],
    on_startup=[open_object_storage, open_users_client],
    worker_jobs=[check_inactive_learners, sweep_erased_learners],
)


def create_app() -> FastAPI:
    return _create_app(service)


main = service_main(lambda: service)
