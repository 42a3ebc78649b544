"""Request dependencies shared by gamification's routers."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.auth import Caller, accepts
from academy_runtime.dependencies import settings_dependency

from academy_gamification.settings import GamificationSettings

SettingsDep = Annotated[GamificationSettings, settings_dependency(GamificationSettings)]

LearnerStandingReader = Annotated[Caller, accepts("gateway-bot", roles=("support",))]
"""Points, achievements, leaderboards: the gateway shows them to learners (its handlers are the only
service callers); support operators look when a learner asks about them."""

LearnerChoiceCommand = Annotated[Caller, accepts("gateway-bot")]
"""A learner's own choice (appearing anonymously): only the gateway, on the learner's behalf."""
