"""The users service: learners, their profiles, avatars and the audit log."""

from __future__ import annotations

from academy_runtime.cli import service_main
from academy_runtime.http import create_app as _create_app
from academy_runtime.service import ServiceDefinition
from fastapi import FastAPI

from academy_users.accounts.endpoints import router as accounts_router
from academy_users.models import Base, messaging
from academy_users.settings import UsersSettings

service = ServiceDefinition(
    name="users",
    description="Learners (registration, profile, consent), avatars and the audit log.",
    settings_factory=UsersSettings,
    metadata=Base.metadata,
    messaging=messaging,
    migrations="academy_users:migrations",
    routers=[accounts_router],
)


def create_app() -> FastAPI:
    return _create_app(service)


main = service_main(lambda: service)
