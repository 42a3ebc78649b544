"""The gamification service: points ledger, levels, achievements, streaks and leaderboards."""

from __future__ import annotations

from academy_runtime.cli import service_main
from academy_runtime.http import create_app as _create_app
from academy_runtime.service import ServiceDefinition
from fastapi import FastAPI

from academy_gamification.achievements.endpoints import router as achievements_router
from academy_gamification.activity.consumers import learning_progress
from academy_gamification.leaderboards.endpoints import router as leaderboards_router
from academy_gamification.leaderboards.service import rebuild_leaderboards
from academy_gamification.learners.consumers import learner_profiles
from academy_gamification.learners.endpoints import router as learners_router
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
    routers=[points_router, achievements_router, leaderboards_router, learners_router],
    consumers=[welcome_points, learner_profiles, learning_progress],
    worker_jobs=[rebuild_leaderboards],
)


def create_app() -> FastAPI:
    return _create_app(service)


main = service_main(lambda: service)
