"""The gamification service: points ledger, levels, achievements, streaks and leaderboards."""

from __future__ import annotations

from academy_runtime.cli import service_main
from academy_runtime.http import create_app as _create_app
from academy_runtime.service import ServiceDefinition
from fastapi import FastAPI

from academy_gamification.models import Base, messaging
from academy_gamification.points.consumers import welcome_points
from academy_gamification.points.endpoints import router as points_router
from academy_gamification.settings import GamificationSettings

service = ServiceDefinition(
    name="gamification",
    description="Points ledger, levels, achievements, streaks and leaderboards.",
    settings_factory=GamificationSettings,
    metadata=Base.metadata,
    messaging=messaging,
    migrations="academy_gamification:migrations",
    routers=[points_router],
    consumers=[welcome_points],
)


def create_app() -> FastAPI:
    return _create_app(service)


main = service_main(lambda: service)
