import pytest
from academy_runtime.service import ServiceDefinition
from academy_users.app import service as users_service

pytest_plugins = ["academy_runtime.testing"]


@pytest.fixture(scope="session")
def service() -> ServiceDefinition:
    return users_service
