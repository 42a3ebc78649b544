"""Request dependencies shared by progress's routers."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.dependencies import settings_dependency

from academy_progress.settings import ProgressSettings

SettingsDep = Annotated[ProgressSettings, settings_dependency(ProgressSettings)]
