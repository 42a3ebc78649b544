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
from academy_users.audit.endpoints import router as audit_router
from academy_users.avatars.endpoints import router as avatars_router
from academy_users.encryption import install_key_ring
from academy_users.models import Base, messaging
from academy_users.privacy.endpoints import router as privacy_router
from academy_users.privacy.rotation import reencrypt_personal_data
from academy_users.settings import UsersSettings


async def install_personal_data_keys(resources: Resources) -> None:
    """Install the settings' personal-data key ring (academy_users.encryption) before anything reads a
    learner: the encrypted columns use it. The settings refused to load without keys outside development."""
    install_key_ring(resources.settings_as(UsersSettings).personal_data_key_ring())


async def start_loading_gazetteer(resources: Resources) -> None:
    """Open the city gazetteer in the background at start (building its index file first, 3 s, when this
    machine has none yet), so no registration waits for it."""
    settings = resources.settings_as(UsersSettings)
    gazetteer.start_loading(settings.gazetteer_min_population, settings.gazetteer_directory())


async def derive_time_zones(resources: Resources) -> str:
    count = await derive_missing_time_zones(resources.sessionmaker, resources.settings_as(UsersSettings))
    return f"{count} learners got the time zone of their city (users.profile_updated.v3 published for each)"


async def reencrypt(resources: Resources) -> str:
    """`reencrypt-personal-data`: every value under the active key, every phone lookup recomputed."""
    ring = resources.settings_as(UsersSettings).personal_data_key_ring()
    report = await reencrypt_personal_data(resources.sessionmaker, ring)
    return report.summary(ring.active_key_id)


service = ServiceDefinition(
    name="users",
    description="Learners (registration, profile, consent), avatars and the audit log.",
    settings_factory=UsersSettings,
    metadata=Base.metadata,
    messaging=messaging,
    migrations="academy_users:migrations",
    # The privacy routes (/internal/users/{id}/...) before the accounts' /internal/users/{id}.
    routers=[privacy_router, accounts_router, audit_router, avatars_router],
    # The key ring first: any later hook may read learners.
    on_startup=[install_personal_data_keys, open_object_storage],
    # Registrations (the API) look cities up; the worker only in `derive-time-zones`, on first use.
    on_api_startup=[start_loading_gazetteer],
    commands={
        "derive-time-zones": ServiceCommand(
            help="give every learner still on the default zone the zone of their city, if the gazetteer knows it",
            run=derive_time_zones,
        ),
        "reencrypt-personal-data": ServiceCommand(
            help="re-encrypt every learner's name, phone and username not under PERSONAL_DATA_KEY_ID and recompute "
            "the phone lookups (a key rotation; run until it reports 0 remaining, then remove the old key)",
            run=reencrypt,
        ),
    },
)


def create_app() -> FastAPI:
    return _create_app(service)


main = service_main(lambda: service)
