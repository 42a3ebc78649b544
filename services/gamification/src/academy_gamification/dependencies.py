from __future__ import annotations

from typing import Annotated

from academy_runtime.resources import Resources
from fastapi import Depends, Path, Request

from academy_gamification.settings import GamificationSettings


def _resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


def _settings(request: Request) -> GamificationSettings:
    settings = request.app.state.resources.settings
    assert isinstance(settings, GamificationSettings)
    return settings


ResourcesDep = Annotated[Resources, Depends(_resources)]
SettingsDep = Annotated[GamificationSettings, Depends(_settings)]
UserId = Annotated[int, Path(gt=0, le=2_147_483_647)]
