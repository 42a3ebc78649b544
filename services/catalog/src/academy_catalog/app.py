"""The catalog service: categories, courses and lessons, community chats."""

from __future__ import annotations

from academy_runtime.cli import service_main
from academy_runtime.fast_answers import FastAnswer
from academy_runtime.http import create_app as _create_app
from academy_runtime.service import ServiceCommand, ServiceDefinition
from fastapi import FastAPI

from academy_catalog.categories import endpoints as categories
from academy_catalog.categories.endpoints import router as categories_router
from academy_catalog.communities.endpoints import router as communities_router
from academy_catalog.courses import endpoints as courses
from academy_catalog.courses.endpoints import router as courses_router
from academy_catalog.demo.service import demo_catalog_command
from academy_catalog.enrolments.consumers import enrolment_stats
from academy_catalog.models import Base, messaging
from academy_catalog.settings import CatalogSettings

service = ServiceDefinition(
    name="catalog",
    description="Course categories, courses with their lessons, and community chats.",
    settings_factory=CatalogSettings,
    metadata=Base.metadata,
    messaging=messaging,
    migrations="academy_catalog:migrations",
    routers=[categories_router, courses_router, communities_router],
    # The learner queries' hot answers, from the process's memory ahead of FastAPI's routing and
    # dependencies (callers, rate limit and parameters still checked): the catalog bench's cached page.
    fast_answers=[
        FastAnswer(courses.list_courses, courses.list_courses_from_memory),
        FastAnswer(courses.top_course, courses.top_course_from_memory),
        FastAnswer(categories.list_categories, categories.list_categories_from_memory),
    ],
    consumers=[enrolment_stats],
    commands={
        "demo-catalog": ServiceCommand(
            help="load or refresh the demo catalog (idempotent: upserts by code, announces only changes)",
            run=demo_catalog_command,
        )
    },
)


def create_app() -> FastAPI:
    return _create_app(service)


main = service_main(lambda: service)
