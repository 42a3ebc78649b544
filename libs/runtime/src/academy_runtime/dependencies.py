"""Request dependencies of the process's resources, typed by the service's own settings class.

    SettingsDep = Annotated[UsersSettings, settings_dependency(UsersSettings)]

    @router.get("/...")
    async def endpoint(settings: SettingsDep, resources: ResourcesDep) -> ...

(the database session is `academy_runtime.db.SessionDep`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from academy_runtime.resources import Resources
from academy_runtime.settings import SettingsT


# `async def`, although nothing is awaited: FastAPI runs a plain `def` dependency in its thread pool,
# a hop per dependency per request.
async def _resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(_resources)]
"""The resources the app's lifespan opened (engine, Redis, `extras`)."""


def settings_dependency(kind: type[SettingsT]) -> Any:
    """A dependency giving the app's settings as `kind`; declare it once per service:
    `SettingsDep = Annotated[UsersSettings, settings_dependency(UsersSettings)]`."""

    async def settings(resources: ResourcesDep) -> SettingsT:
        return resources.settings_as(kind)

    return Depends(settings)
