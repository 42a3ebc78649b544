"""Request dependencies shared by the users service's modules."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.dependencies import settings_dependency

from academy_users.settings import UsersSettings

SettingsDep = Annotated[UsersSettings, settings_dependency(UsersSettings)]
