"""The catalog service: categories, courses and lessons, community chats."""

from __future__ import annotations

from academy_runtime.cli import service_main
from academy_runtime.http import create_app as _create_app
from academy_runtime.service import ServiceDefinition
from fastapi import FastAPI

from academy_catalog.categories.endpoints import router as categories_router
from academy_catalog.courses.endpoints import router as courses_router
from academy_catalog.models import Base, messaging
from academy_catalog.settings import CatalogSettings

service = ServiceDefinition(
    name="catalog",
    description="Course categories, courses with their lessons, and community chats.",
    settings_factory=CatalogSettings,
    metadata=Base.metadata,
    messaging=messaging,
    migrations="academy_catalog:migrations",
    routers=[categories_router, courses_router],
)


def create_app() -> FastAPI:
    return _create_app(service)


main = service_main(lambda: service)
