"""Request dependencies shared by gamification's routers."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.dependencies import settings_dependency

from academy_gamification.settings import GamificationSettings

SettingsDep = Annotated[GamificationSettings, settings_dependency(GamificationSettings)]
