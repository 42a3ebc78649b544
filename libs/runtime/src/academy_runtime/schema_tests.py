"""Tests every service runs on its own schema; a service's test module imports them by name:

    from academy_runtime.schema_tests import test_migrations_round_trip, test_tables_are_private  # noqa: F401

They use the `academy_runtime.testing` fixtures (`service`, `platform`, `migrated`, `scratch_database_url`).
"""

from __future__ import annotations

import pytest

from academy_runtime.service import ServiceDefinition
from academy_runtime.testing import TestPlatform, assert_migrations_round_trip, assert_role_isolated, query_as


@pytest.mark.integration
async def test_migrations_round_trip(service: ServiceDefinition, scratch_database_url: str) -> None:
    """upgrade head → exactly the models' tables → downgrade base → upgrade head again."""
    await assert_migrations_round_trip(service, scratch_database_url)


@pytest.mark.integration
@pytest.mark.usefixtures("migrated")
async def test_tables_are_private(service: ServiceDefinition, platform: TestPlatform) -> None:
    """The service's role reads its tables; no other service's role can read any of them."""
    schema = service.metadata.schema or service.name
    assert await query_as(platform, schema, f'SELECT count(*) FROM "{schema}"."outbox"') is not None  # noqa: S608
    for table in service.metadata.sorted_tables:
        await assert_role_isolated(platform, schema, table.name)
