"""The progress service: enrolments, lesson progress, transcripts and the catalog projection."""

from __future__ import annotations

from academy_runtime.cli import service_main
from academy_runtime.http import create_app as _create_app
from academy_runtime.service import ServiceDefinition
from fastapi import FastAPI

from academy_progress.enrolments.consumers import enrolments
from academy_progress.enrolments.endpoints import router as enrolments_router
from academy_progress.models import Base, messaging
from academy_progress.projections.consumers import catalog_projection
from academy_progress.settings import ProgressSettings

service = ServiceDefinition(
    name="progress",
    description="Enrolments, lesson progress, learning transcripts and the catalog's course projection.",
    settings_factory=ProgressSettings,
    metadata=Base.metadata,
    messaging=messaging,
    migrations="academy_progress:migrations",
    routers=[enrolments_router],
    consumers=[catalog_projection, enrolments],
)


def create_app() -> FastAPI:
    return _create_app(service)


main = service_main(lambda: service)
