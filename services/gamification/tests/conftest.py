import pytest
from academy_gamification.app import service as gamification_service
from academy_runtime.service import ServiceDefinition

pytest_plugins = ["academy_runtime.testing"]


@pytest.fixture(scope="session")
def service() -> ServiceDefinition:
    return gamification_service
