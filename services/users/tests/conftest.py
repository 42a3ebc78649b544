import pytest
from academy_runtime.service import ServiceDefinition
from academy_runtime.testing import api_client, operator_token
from academy_users.app import service as users_service

pytest_plugins = ["academy_runtime.testing"]


@pytest.fixture(scope="session")
def service() -> ServiceDefinition:
    return users_service


@pytest.fixture
async def support(service, resources, platform):
    """Olga, a support operator: a client of the users API with her token."""
    token = operator_token(platform, name="olga", roles=("support",), audience="users")
    async with api_client(service, resources, token) as client:
        yield client
