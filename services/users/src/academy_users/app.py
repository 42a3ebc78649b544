"""The users service: learners, their profiles, avatars and the audit log."""

from __future__ import annotations

from academy_runtime.cli import service_main
from academy_runtime.http import create_app as _create_app
from academy_runtime.resources import Resources
from academy_runtime.service import ServiceCommand, ServiceDefinition
from academy_runtime.storage import open_object_storage
from fastapi import FastAPI

from academy_users.accounts import gazetteer
from academy_users.accounts.endpoints import router as accounts_router
from academy_users.accounts.service import derive_missing_time_zones
from academy_users.avatars.endpoints import router as avatars_router
from academy_users.models import Base, messaging
from academy_users.settings import UsersSettings


async def start_loading_gazetteer(resources: Resources) -> None:
    """Build the city gazetteer in the background at start, so no registration waits the 2 s it takes."""
    gazetteer.start_loading(resources.settings_as(UsersSettings).gazetteer_min_population)


async def derive_time_zones(resources: Resources) -> str:
    count = await derive_missing_time_zones(resources.sessionmaker, resources.settings_as(UsersSettings))
    return f"{count} learners got the time zone of their city (users.profile_updated.v2 published for each)"


service = ServiceDefinition(
    name="users",
    description="Learners (registration, profile, consent), avatars and the audit log.",
    settings_factory=UsersSettings,
    metadata=Base.metadata,
    messaging=messaging,
    migrations="academy_users:migrations",
    routers=[accounts_router, avatars_router],
    on_startup=[start_loading_gazetteer, open_object_storage],
    commands={
        "derive-time-zones": ServiceCommand(
            help="give every learner still on the default zone the zone of their city, if the gazetteer knows it",
            run=derive_time_zones,
        )
    },
)


def create_app() -> FastAPI:
    return _create_app(service)


main = service_main(lambda: service)
