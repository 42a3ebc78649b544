import pytest
from academy_runtime.service import ServiceDefinition

from academy_gamification.app import service as gamification_service

pytest_plugins = ["academy_runtime.testing"]


@pytest.fixture(scope="session")
def service() -> ServiceDefinition:
    return gamification_service
