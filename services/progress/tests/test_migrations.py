"""The migrations build exactly the models' schema on an empty database, and tear it down again
(on a scratch database, so the downgrade never disturbs the session's database)."""

import pytest
from academy_runtime.testing import assert_migrations_round_trip

pytestmark = pytest.mark.integration


async def test_upgrade_downgrade_upgrade_on_an_empty_schema(service, scratch_database_url):
    await assert_migrations_round_trip(service, scratch_database_url)
